"""Where a tenant's data actually is: the target's holdings inventory, scanned for residency.

A region outside a tenant's jurisdiction answers 451 to the tenant's requests, so no data-plane
read can see rows that replication (or any other path) carried there. The holdings inventory
(`GET {admin.url}/admin/holdings`, target contract §5) lists, per region, which tenants' rows
it holds, with counts, a digest and a few keys. `scan_outside` reads it for every region of the
profile outside the tenant's jurisdiction; `settle_replication` first gives replication its
time, as the suite observes it: a marker written through the GLB, seen on the tenant's peer
region, then one more lag-gate window.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pytest_mc.drivers.chaos_target import admin_secret
from pytest_mc.drivers.dataplane import DataPlaneClient, QueryAnswer
from pytest_mc.drivers.lag_probe import (
    DEFAULT_MARKER_TIMEOUT_WALL_SECONDS,
    DEFAULT_POLL_WALL_SECONDS,
)
from pytest_mc.errors import ProfileError, UnreachableError, UnsafeTargetError
from pytest_mc.target.fence import host_of
from pytest_mc.target.profile import TargetProfile

_STRICT = ConfigDict(extra="forbid", frozen=True)
# Answers come from the target: extra fields are ignored, the ones we read are typed.
_TARGET = ConfigDict(extra="ignore", frozen=True)

SETTLE_MARKER_PREFIX = "mc-residency-settle"

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class TenantHoldings(BaseModel):
    """What one region holds of one tenant: rows in every table that keeps tenant data."""

    model_config = _TARGET
    tenant: str
    rows: int = Field(ge=0, description="all of the tenant's rows the region holds")
    entities: int = Field(default=0, ge=0)
    tombstones: int = Field(default=0, ge=0)
    derived: int = Field(default=0, ge=0)
    feed: int = Field(default=0, ge=0, description="change-feed entries")
    digest: str | None = None
    sample_keys: tuple[str, ...] = ()


class RegionHoldings(BaseModel):
    """One region's inventory; an unreachable region says so instead of listing nothing."""

    model_config = _TARGET
    region: str
    jurisdiction: str
    reachable: bool
    error: str | None = None
    tenants: tuple[TenantHoldings, ...] = ()

    def of(self, tenant: str) -> TenantHoldings | None:
        return next((held for held in self.tenants if held.tenant == tenant), None)


class HoldingsInventory(BaseModel):
    """`GET /admin/holdings`: the regions asked for, each with what it holds."""

    model_config = _TARGET
    regions: tuple[RegionHoldings, ...]


class HoldingsClient:
    """Reads the target's holdings inventory through its admin API (needs the admin secret,
    so only for a profile inside the safety fence, like the fault API)."""

    def __init__(
        self,
        profile: TargetProfile,
        *,
        timeout_seconds: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if profile.admin is None:
            raise ProfileError(
                f"profile {profile.name!r} has no admin section; the holdings inventory "
                "(target contract §5) is read through the admin API: add admin.url"
            )
        host = host_of(profile.admin.url)
        if host not in profile.allowed_hosts:
            raise UnsafeTargetError(
                f"refused to read the holdings inventory at {profile.admin.url!r}: host "
                f"{host!r} is not in allowed_hosts {list(profile.allowed_hosts)}"
            )
        self.profile = profile
        self.url = f"{profile.admin.url.rstrip('/')}/admin/holdings"
        self._client = httpx.Client(timeout=timeout_seconds, transport=transport)
        self._secret: str | None = None

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HoldingsClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def read(self, *, region: str | None = None, tenant: str | None = None) -> HoldingsInventory:
        """The inventory of `region` (every region if None), narrowed to `tenant` if given."""
        if self._secret is None:
            self._secret = admin_secret(self.profile)
        params = {name: value for name, value in (("region", region), ("tenant", tenant)) if value}
        try:
            response = self._client.get(
                self.url, params=params, headers={"Authorization": f"Bearer {self._secret}"}
            )
        except httpx.HTTPError as exc:
            raise UnreachableError(
                f"holdings inventory unreachable at {self.url}: {type(exc).__name__}: {exc}"
            ) from exc
        if response.status_code != 200:
            raise UnreachableError(
                f"holdings inventory at {self.url} (region {region!r}) answered HTTP "
                f"{response.status_code}: {response.text[:160]!r}; the target contract §5 "
                "requires GET /admin/holdings"
            )
        try:
            return HoldingsInventory.model_validate_json(response.content)
        except ValidationError as exc:
            raise UnreachableError(
                f"holdings inventory at {self.url} answered a body outside the target "
                f"contract: {response.text[:160]!r} ({exc.errors()[0]['msg']})"
            ) from None


class OutsideHolding(BaseModel):
    """Rows of the tenant found in a region outside its jurisdiction."""

    model_config = _STRICT
    region: str
    jurisdiction: str
    held: TenantHoldings

    def describe(self, tenant: str) -> str:
        held = self.held
        keys = ", ".join(repr(key) for key in held.sample_keys[:3])
        return (
            f"{self.region} (jurisdiction {self.jurisdiction}) holds {held.rows} rows of "
            f"{tenant} ({held.entities} entities, {held.tombstones} tombstones, "
            f"{held.derived} derived, {held.feed} feed entries{'; e.g. ' + keys if keys else ''})"
        )


class ResidencyScan(BaseModel):
    """Every region outside a tenant's jurisdiction, asked what it holds of the tenant."""

    model_config = _STRICT
    tenant: str
    residency: str
    regions_outside: tuple[str, ...] = Field(description="the profile's regions outside it")
    scanned: tuple[str, ...] = Field(description="regions whose inventory answered")
    unreachable: dict[str, str] = Field(description="region -> why its inventory is missing")
    held: tuple[OutsideHolding, ...]
    wall_seconds: float = Field(ge=0, description="what the scan took")

    @property
    def rows_outside(self) -> int:
        return sum(outside.held.rows for outside in self.held)

    def problems(self) -> list[str]:
        """Why the scan does not show the tenant's data confined to its jurisdiction."""
        found = [outside.describe(self.tenant) for outside in self.held]
        if not self.regions_outside:
            found.append(
                f"the target profile has no region outside {self.tenant}'s {self.residency} "
                "jurisdiction: residency cannot be verified; add one to the staging"
            )
        found += [
            f"the inventory of {region} could not be read ({why}): a region not scanned "
            "proves nothing"
            for region, why in sorted(self.unreachable.items())
        ]
        return found


def scan_outside(
    client: HoldingsClient,
    profile: TargetProfile,
    tenant: str,
    *,
    clock: Clock = time.monotonic,
) -> ResidencyScan:
    """Ask every region of `profile` outside `tenant`'s jurisdiction what it holds of it."""
    residency = profile.tenant(tenant).residency
    outside = tuple(r.id for r in profile.regions if r.jurisdiction != residency)
    started = clock()
    scanned: list[str] = []
    unreachable: dict[str, str] = {}
    held: list[OutsideHolding] = []
    for region in outside:
        answer = next(
            (r for r in client.read(region=region, tenant=tenant).regions if r.region == region),
            None,
        )
        if answer is None:
            unreachable[region] = "the inventory does not list it"
            continue
        if not answer.reachable:
            unreachable[region] = answer.error or "unreachable"
            continue
        scanned.append(region)
        found = answer.of(tenant)
        if found is not None and found.rows > 0:
            held.append(OutsideHolding(region=region, jurisdiction=answer.jurisdiction, held=found))
    return ResidencyScan(
        tenant=tenant,
        residency=residency,
        regions_outside=outside,
        scanned=tuple(scanned),
        unreachable=unreachable,
        held=tuple(held),
        wall_seconds=max(0.0, clock() - started),
    )


class ReplicationSettle(BaseModel):
    """The time replication was given before a scan, and the suite's proof that it had it."""

    model_config = _STRICT
    tenant: str
    marker_key: str
    marker: QueryAnswer = Field(description="the marker write through the GLB")
    peer: str | None = Field(description="the tenant's region the marker was awaited on")
    seen_on_peer_after_wall_seconds: float | None = Field(
        description="from the end of the marker write; None: never seen (or no peer)"
    )
    lag_window_wall_seconds: float
    waited_wall_seconds: float = Field(description="from the end of the marker write")

    def problem(self) -> str | None:
        """Why this wait does not show that replication had its time (None: it does)."""
        if not self.marker.ok:
            return (
                f"the settle marker {self.marker_key!r} of {self.tenant} was refused "
                f"({self.marker.describe()}): replication cannot be observed"
            )
        if self.peer is not None and self.seen_on_peer_after_wall_seconds is None:
            return (
                f"the settle marker {self.marker_key!r} written through {self.marker.served_by} "
                f"never reached {self.tenant}'s peer {self.peer} within "
                f"{self.waited_wall_seconds:.1f}s wall: replication is stopped, so an empty "
                "region outside the jurisdiction proves nothing"
            )
        return None


def settle_replication(
    client: DataPlaneClient,
    tenant: str,
    regions: tuple[str, ...],
    *,
    lag_window_wall_seconds: float,
    poll_wall_seconds: float = DEFAULT_POLL_WALL_SECONDS,
    timeout_wall_seconds: float = DEFAULT_MARKER_TIMEOUT_WALL_SECONDS,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> ReplicationSettle:
    """Write a marker through the GLB after everything the scenario wrote; wait until the
    tenant's other region (`regions`) serves it, then one more lag-gate window.

    Replication carries a region's changes in order, so once the marker is on the peer every
    earlier change of its region is too; the further window is what any other path (a leak
    to a region outside the jurisdiction) gets on top. Without a peer, the window alone."""
    key = f"{SETTLE_MARKER_PREFIX}-{uuid.uuid4().hex[:12]}"
    marker = client.put(tenant, key, key, op_id=f"{key}-op")
    written = clock()
    source = marker.served_by
    peer = next((r for r in regions if r != source), None) if marker.ok else None
    seen: float | None = None
    timeout = max(timeout_wall_seconds, 2 * lag_window_wall_seconds)
    if peer is not None:
        while clock() - written < timeout:
            if client.get(tenant, key, via=peer).ok:
                seen = clock() - written
                break
            sleep(poll_wall_seconds)
    if marker.ok and (peer is None or seen is not None):
        sleep(lag_window_wall_seconds)
    return ReplicationSettle(
        tenant=tenant,
        marker_key=key,
        marker=marker,
        peer=peer,
        seen_on_peer_after_wall_seconds=seen,
        lag_window_wall_seconds=lag_window_wall_seconds,
        waited_wall_seconds=max(0.0, clock() - written),
    )
