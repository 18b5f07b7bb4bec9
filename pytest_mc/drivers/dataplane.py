"""The data-plane driver: single requests to a tenant's query route (target contract §3).

k6 drives volume; this client sends the few precise requests a scenario needs and reads the
answer a region gives: status, error code, the serving region (`X-MC-Region`), the entity.
It reaches the GLB (`glb_url`) or one region directly (`regions[].url`), and only hosts of the
profile's `allowed_hosts`. Only the persisted reads (`READ_QUERIES`) run against any target;
a write, or any other query, changes the target and passes the safety fence first. So does an
ad-hoc query: the target counts it as non-persisted, which can trip a rollback.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pytest_mc.errors import InputError, UnreachableError, UnsafeTargetError
from pytest_mc.target.fence import host_of, require_change_allowed
from pytest_mc.target.profile import TargetProfile

_STRICT = ConfigDict(extra="forbid", frozen=True)
# Answers come from the target: extra fields are ignored, the ones we read are typed.
_TARGET = ConfigDict(extra="ignore", frozen=True)

DEFAULT_PURPOSE = "service"
GLB = "glb"
# The persisted queries that only read (target contract §3). Deny by default: any other query
# id (put_entity, delete_entity, one the contract adds later) is a change.
READ_QUERIES = frozenset({"get_entity", "list_entities", "get_derived"})


class Entity(BaseModel):
    """The `data` of an entity read or write (`get_entity`, `put_entity`)."""

    model_config = _TARGET
    key: str
    value: str | None = None
    version: int | None = None
    idempotent_replay: bool = False


class _Answer(BaseModel):
    model_config = _TARGET
    data: dict[str, object] | None = None
    region: str | None = None
    error: str | None = None
    message: str | None = None


class QueryAnswer(BaseModel):
    """One data-plane answer, as the suite needs it."""

    model_config = _STRICT
    via: str = Field(description="'glb' or the id of the region the request was sent to")
    status: int
    error: str | None = Field(default=None, description="the contract's error code")
    served_by: str | None = Field(
        default=None, description="X-MC-Region (GLB) or the body's region; None if unknown"
    )
    entity: Entity | None = None
    keys: tuple[str, ...] | None = Field(default=None, description="list_entities: the keys")
    values: dict[str, str] | None = Field(
        default=None, description="list_entities with values: key → value (None: not given)"
    )
    op_id: str | None = Field(default=None, description="the Idempotency-Key sent, if any")

    @property
    def ok(self) -> bool:
        return self.status == 200

    def describe(self) -> str:
        """One line for a failure message: where it went, what came back."""
        what = f"{self.status} {self.error}" if self.error else str(self.status)
        return f"{what} via {self.via} (served by {self.served_by or 'none'})"


class DataPlaneClient:
    """Sends persisted and ad-hoc queries of one tenant to the GLB or to a single region."""

    def __init__(
        self,
        profile: TargetProfile,
        *,
        timeout_seconds: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.profile = profile
        self._client = httpx.Client(timeout=timeout_seconds, transport=transport)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> DataPlaneClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- where requests go -----------------------------------------------------------------

    def base_url(self, via: str) -> str:
        """The URL of the GLB (`via="glb"`) or of region `via`; checked against allowed_hosts."""
        if via == GLB:
            url = self.profile.glb_url
        else:
            region = next((r for r in self.profile.regions if r.id == via), None)
            if region is None:
                known = ", ".join(r.id for r in self.profile.regions)
                raise InputError(f"region {via!r} is not in the target profile (known: {known})")
            if region.url is None:
                raise InputError(
                    f"region {via!r} has no url in profile {self.profile.name!r}; add "
                    "regions[].url to reach it directly"
                )
            url = region.url
        host = host_of(url)
        if host not in self.profile.allowed_hosts:
            raise UnsafeTargetError(
                f"refused to send data-plane requests to {url!r}: host {host!r} is not in "
                f"allowed_hosts {list(self.profile.allowed_hosts)}"
            )
        return url.rstrip("/")

    def regions_outside(self, jurisdiction: str) -> tuple[str, ...]:
        """Regions of the profile outside `jurisdiction` (where a tenant's data must never be)."""
        return tuple(r.id for r in self.profile.regions if r.jurisdiction != jurisdiction)

    # -- queries ---------------------------------------------------------------------------

    def get(self, tenant: str, key: str, *, via: str = GLB) -> QueryAnswer:
        return self.persisted(tenant, "get_entity", {"key": key}, via=via)

    def put(
        self, tenant: str, key: str, value: str, *, via: str = GLB, op_id: str | None = None
    ) -> QueryAnswer:
        return self.persisted(
            tenant, "put_entity", {"key": key, "value": value}, via=via, op_id=op_id
        )

    def list_keys(
        self, tenant: str, *, via: str = GLB, limit: int = 100, values: bool = False
    ) -> QueryAnswer:
        """`list_entities`; with `values` the target may answer each key's value too, in the
        same read (`QueryAnswer.values`; None when it answered the keys only)."""
        variables: dict[str, str | int] = {"limit": limit}
        if values:
            variables["values"] = True
        return self.persisted(tenant, "list_entities", variables, via=via)

    def persisted(
        self,
        tenant: str,
        query_id: str,
        variables: dict[str, str | int],
        *,
        via: str = GLB,
        op_id: str | None = None,
    ) -> QueryAnswer:
        """A persisted query (`{"id", "variables"}`); anything but a read passes the fence."""
        if query_id not in READ_QUERIES:
            require_change_allowed(
                self.profile, what=f"data-plane query {query_id!r} of {tenant} via {via}"
            )
        return self._send(tenant, {"id": query_id, "variables": variables}, via=via, op_id=op_id)

    def adhoc(self, tenant: str, query: str, *, via: str = GLB) -> QueryAnswer:
        """An ad-hoc query (`{"query": ...}`): counted as non-persisted by the target, so a
        change (it feeds the non-persisted tripwire) that passes the fence."""
        require_change_allowed(self.profile, what=f"an ad-hoc query of {tenant} via {via}")
        return self._send(tenant, {"query": query}, via=via, op_id=None)

    def _send(
        self,
        tenant: str,
        body: dict[str, object],
        *,
        via: str,
        op_id: str | None,
        purpose: str = DEFAULT_PURPOSE,
    ) -> QueryAnswer:
        url = f"{self.base_url(via)}/v1/tenants/{tenant}/query"
        headers = {"X-MC-Purpose": purpose}
        if op_id is not None:
            headers["Idempotency-Key"] = op_id
        try:
            response = self._client.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise UnreachableError(
                f"data plane of {via} unreachable at {url}: {type(exc).__name__}: {exc}"
            ) from exc
        return parse_answer(response, via=via, op_id=op_id)


def parse_answer(response: httpx.Response, *, via: str, op_id: str | None) -> QueryAnswer:
    """Read a query answer; a body outside the contract's shapes is the target's fault."""
    try:
        body = _Answer.model_validate_json(response.content or b"{}")
    except ValidationError as exc:
        raise UnreachableError(
            f"data plane of {via} answered {response.status_code} with a body outside the "
            f"target contract: {response.text[:160]!r} ({exc.errors()[0]['msg']})"
        ) from None
    header = response.headers.get("x-mc-region")
    served_by = header if header not in (None, "", "none") else body.region
    entity: Entity | None = None
    keys: tuple[str, ...] | None = None
    values: dict[str, str] | None = None
    try:
        if body.data is not None and "key" in body.data:
            entity = Entity.model_validate(body.data)
        elif body.data is not None:
            listed = body.data.get("keys")
            if isinstance(listed, list):
                keys = tuple(str(key) for key in listed)
            given = body.data.get("values")
            if isinstance(given, dict):
                values = {str(key): "" if v is None else str(v) for key, v in given.items()}
    except ValidationError as exc:
        raise UnreachableError(
            f"data plane of {via} answered an entity outside the target contract: "
            f"{response.text[:160]!r} ({exc.errors()[0]['msg']})"
        ) from None
    return QueryAnswer(
        via=via,
        status=response.status_code,
        error=body.error,
        served_by=served_by,
        entity=entity,
        keys=keys,
        values=values,
        op_id=op_id,
    )


def statuses(answers: Iterable[QueryAnswer]) -> dict[str, int]:
    """How many answers of each status (and error code): `{"200": 40, "429 budget_exceeded": 9}`."""
    counts: dict[str, int] = {}
    for answer in answers:
        label = f"{answer.status} {answer.error}" if answer.error else str(answer.status)
        counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items()))
