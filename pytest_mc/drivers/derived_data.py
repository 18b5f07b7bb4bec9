"""The suite's own check of a tenant's derived data against its base (plan §B.2).

The pilot's op-set, `derived_updates`, keeps one pair of derived rows per key category
(`count:<cat>`: entities, `bytes:<cat>`: UTF-8 bytes of their values; the category is the key
up to its first `:`, or `default`). This module reads both the base entities and the derived
rows of each region through the data plane (persisted queries `list_entities`, `get_entity`,
`get_derived`), derives the rows itself and compares: it never trusts what the target's
autonomy engine said it did, which is what makes a simulation false negative visible.
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict
from collections.abc import Mapping

import httpx
from pydantic import BaseModel, ConfigDict

from pytest_mc.drivers.dataplane import DEFAULT_PURPOSE, DataPlaneClient
from pytest_mc.errors import UnreachableError
from pytest_mc.target.profile import TargetProfile

_STRICT = ConfigDict(extra="forbid", frozen=True)
_LIST_LIMIT = 100_000
# How often a region is read while a base change is on its way there: replication takes a
# few ms on the reference staging, and every cycle of the KPI campaign waits for it.
_POLL_WALL_SECONDS = 0.005


class RegionData(BaseModel):
    """One region's view of a tenant: base entities (key → value) and derived rows."""

    model_config = _STRICT
    region: str
    base: dict[str, str]
    derived: dict[str, str]


class DerivedCheck(BaseModel):
    """The derived rows of one region against the rows its base implies."""

    model_config = _STRICT
    region: str
    expected: dict[str, str]
    actual: dict[str, str]

    @property
    def wrong_rows(self) -> tuple[str, ...]:
        names = set(self.expected) | set(self.actual)
        return tuple(sorted(n for n in names if self.expected.get(n) != self.actual.get(n)))

    @property
    def correct(self) -> bool:
        return not self.wrong_rows

    def describe(self) -> str:
        if self.correct:
            return f"{self.region}: derived rows match the base"
        shown = ", ".join(
            f"{n} is {self.actual.get(n)!r}, base implies {self.expected.get(n)!r}"
            for n in self.wrong_rows[:4]
        )
        more = f" (+{len(self.wrong_rows) - 4} more)" if len(self.wrong_rows) > 4 else ""
        return f"{self.region}: {shown}{more}"


def derive(base: Mapping[str, str]) -> dict[str, str]:
    """The derived rows `derived_updates` must produce from `base` (key → value)."""
    counts: dict[str, int] = defaultdict(int)
    sizes: dict[str, int] = defaultdict(int)
    for key, value in base.items():
        category = key.split(":", 1)[0] if ":" in key else "default"
        counts[category] += 1
        sizes[category] += len(value.encode())
    rows: dict[str, str] = {}
    for category in sorted(counts):
        rows[f"count:{category}"] = str(counts[category])
        rows[f"bytes:{category}"] = str(sizes[category])
    return rows


class DerivedDataReader:
    """Reads base entities and derived rows of a tenant from each of its regions."""

    def __init__(
        self,
        profile: TargetProfile,
        *,
        timeout_seconds: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.data_plane = DataPlaneClient(
            profile, timeout_seconds=timeout_seconds, transport=transport
        )
        self._client = httpx.Client(timeout=timeout_seconds, transport=transport)

    def close(self) -> None:
        self.data_plane.close()
        self._client.close()

    def __enter__(self) -> DerivedDataReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def derived_rows(self, tenant: str, region: str) -> dict[str, str]:
        """The tenant's derived rows in `region` (persisted query `get_derived`)."""
        url = f"{self.data_plane.base_url(region)}/v1/tenants/{tenant}/query"
        try:
            response = self._client.post(
                url, json={"id": "get_derived"}, headers={"X-MC-Purpose": DEFAULT_PURPOSE}
            )
        except httpx.HTTPError as exc:
            raise UnreachableError(
                f"data plane of {region} unreachable at {url}: {type(exc).__name__}: {exc}"
            ) from exc
        data = _json_object(response).get("data") if response.status_code == 200 else None
        if not isinstance(data, dict):
            raise UnreachableError(
                f"get_derived of {tenant} in {region} answered {response.status_code} "
                f"{response.text[:160]!r}; the target contract promises 200 with the rows"
            )
        return {str(name): str(value) for name, value in data.items()}

    def base_entities(self, tenant: str, region: str) -> dict[str, str]:
        """Every live base entity of the tenant in `region`: key → value, in one listing with
        values where the target gives them, else a read per key."""
        listed = self.data_plane.list_keys(tenant, via=region, limit=_LIST_LIMIT, values=True)
        if not listed.ok or listed.keys is None:
            raise UnreachableError(
                f"list_entities of {tenant} in {region}: {listed.describe()}; the target "
                "contract promises the keys"
            )
        if listed.values is not None:
            missing = [key for key in listed.keys if key not in listed.values]
            if missing:
                raise UnreachableError(
                    f"list_entities of {tenant} in {region} with values listed {missing[0]!r} "
                    "without its value; the target contract gives one per key listed"
                )
            return {key: listed.values[key] for key in listed.keys}
        base: dict[str, str] = {}
        for key in listed.keys:
            answer = self.data_plane.get(tenant, key, via=region)
            if answer.status == 404:
                continue  # deleted between the listing and the read
            if not answer.ok or answer.entity is None:
                raise UnreachableError(f"get_entity {key!r} of {tenant}: {answer.describe()}")
            base[key] = answer.entity.value or ""
        return base

    def region_data(self, tenant: str, region: str) -> RegionData:
        return RegionData(
            region=region,
            base=self.base_entities(tenant, region),
            derived=self.derived_rows(tenant, region),
        )

    def check(self, tenant: str, regions: tuple[str, ...]) -> tuple[DerivedCheck, ...]:
        """Each region's derived rows against the rows its own base implies."""
        checks = []
        for region in regions:
            data = self.region_data(tenant, region)
            checks.append(
                DerivedCheck(region=region, expected=derive(data.base), actual=data.derived)
            )
        return tuple(checks)

    def derived_everywhere(
        self, tenant: str, regions: tuple[str, ...]
    ) -> dict[str, dict[str, str]]:
        """The derived rows of every region: region → rows."""
        return {region: self.derived_rows(tenant, region) for region in regions}


def _json_object(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def change_base(
    reader: DerivedDataReader,
    tenant: str,
    regions: tuple[str, ...],
    *,
    key: str,
    timeout_seconds: float = 15.0,
    derived_must_change: bool = False,
) -> str:
    """Write `key` of `tenant` through the GLB with a value of a new length and wait until
    every region in `regions` serves it.

    A new length changes the base, but not necessarily what `derived_updates` would write:
    derived rows left stale by an earlier refused enactment may already equal the rows of the
    new base. With `derived_must_change` the value's length is chosen, from the base and
    derived rows of `regions[0]`, so that the derived rows the new base implies differ from
    the stored ones (one read per key of the tenant: for a scenario, not a campaign cycle)."""
    data_plane = reader.data_plane
    old = data_plane.get(tenant, key)
    old_length = len(old.entity.value or "") if old.ok and old.entity is not None else -1
    lengths = [n for n in range(8, 64) if n != old_length]
    if derived_must_change:
        base = reader.base_entities(tenant, regions[0])
        stored = reader.derived_rows(tenant, regions[0])
        lengths = [n for n in lengths if derive({**base, key: "x" * n}) != stored]
        if not lengths:
            raise UnreachableError(
                f"no new value of {key!r} of {tenant} changes its derived rows in "
                f"{regions[0]} ({len(base)} base entities); the derived rows do not follow the base"
            )
    length = lengths[secrets.randbelow(len(lengths))]
    value = secrets.token_hex(32)[:length]
    written = data_plane.put(tenant, key, value)
    if not written.ok:
        raise UnreachableError(f"put_entity {key!r} of {tenant} failed: {written.describe()}")
    deadline = time.monotonic() + timeout_seconds
    pending = list(regions)
    while pending:
        got = data_plane.get(tenant, key, via=pending[0])
        if got.ok and got.entity is not None and got.entity.value == value:
            pending.pop(0)
            continue
        if time.monotonic() > deadline:
            raise UnreachableError(
                f"the write of {key!r} of {tenant} did not reach region {pending[0]} within "
                f"{timeout_seconds:g}s ({got.describe()}); replication is stuck"
            )
        time.sleep(_POLL_WALL_SECONDS)
    return value
