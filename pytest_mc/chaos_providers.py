"""Chaos Toolkit activities for the target contract's fault hooks (docs/target-contract.md §5).

The experiments in `chaos/` call these as `"type": "python"` providers of module
`pytest_mc.chaos_providers`, both from `chaos run` and from the in-process chaos driver.
The admin secret arrives through Chaos Toolkit secrets (scope `mc`, key `admin_token`) and is
only ever put in an Authorization header: it is never returned, logged or raised.
They take URLs, not a profile, so the safety fence stands in front of them: the chaos driver
fences an experiment before it runs, and drivers reach the fault API through the fenced
`pytest_mc.drivers.chaos_target.FaultApi`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

import httpx

__all__ = [
    "delete_burst",
    "health_status",
    "inject_fault",
    "remove_faults",
    "tenant_served",
    "write_burst",
]

_TIMEOUT_SECONDS = 10.0
_SERVICE_PURPOSE = {"X-MC-Purpose": "service"}
_LIST_LIMIT = 100_000


class FaultApiError(Exception):
    """The admin fault API refused or failed a request (the message never holds the secret)."""


def _headers(secrets: Mapping[str, str] | None) -> dict[str, str]:
    token = (secrets or {}).get("admin_token", "").strip()
    if not token:
        raise FaultApiError(
            "no admin secret: set MC_ADMIN_TOKEN to the contents of the profile's "
            "admin.token_file (Chaos Toolkit secret mc.admin_token)"
        )
    return {"Authorization": f"Bearer {token}"}


def _scope(value: str | None) -> str | None:
    # Environment-driven configuration cannot say "null"; an empty string means "no scope".
    return value or None


def _fault_params(params: Mapping[str, object] | str | None) -> dict[str, object]:
    if params is None or params == "":
        return {}
    if isinstance(params, str):  # from an env var: a JSON object
        loaded = json.loads(params)
        if not isinstance(loaded, dict):
            raise FaultApiError(f"fault params must be a JSON object, got {params!r}")
        return loaded
    return dict(params)


def inject_fault(
    admin_url: str,
    kind: str,
    tenant: str | None = None,
    region: str | None = None,
    params: Mapping[str, object] | str | None = None,
    secrets: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """Inject one fault (`POST /admin/faults`); fails unless the target answers 201."""
    body = {
        "kind": kind,
        "tenant": _scope(tenant),
        "region": _scope(region),
        "params": _fault_params(params),
    }
    response = httpx.post(
        f"{admin_url.rstrip('/')}/admin/faults",
        json=body,
        headers=_headers(secrets),
        timeout=_TIMEOUT_SECONDS,
    )
    if response.status_code != 201:
        raise FaultApiError(
            f"injecting {kind!r} failed: HTTP {response.status_code} {response.text[:200]}"
        )
    fault: dict[str, object] = response.json()
    return fault


def remove_faults(
    admin_url: str,
    kind: str,
    tenant: str | None = None,
    region: str | None = None,
    secrets: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """Remove every active fault of `kind` in this scope; idempotent (nothing left is fine).

    The rollback of every experiment: it lists the faults instead of remembering an id, so it
    also cleans up after a run that was interrupted between injecting and recording."""
    base = admin_url.rstrip("/")
    headers = _headers(secrets)
    listing = httpx.get(f"{base}/admin/faults", headers=headers, timeout=_TIMEOUT_SECONDS)
    if listing.status_code != 200:
        raise FaultApiError(f"listing faults failed: HTTP {listing.status_code}")
    removed: list[str] = []
    for fault in listing.json().get("faults", []):
        if fault.get("kind") != kind:
            continue
        if _scope(tenant) is not None and fault.get("tenant") != tenant:
            continue
        if _scope(region) is not None and fault.get("region") != region:
            continue
        fault_id = str(fault["id"])
        response = httpx.delete(
            f"{base}/admin/faults/{fault_id}", headers=headers, timeout=_TIMEOUT_SECONDS * 3
        )
        # 400 "not active": removed by someone else in the meantime, which is what we want.
        if response.status_code not in (200, 400, 404):
            raise FaultApiError(
                f"removing fault {fault_id} failed: HTTP {response.status_code} "
                f"{response.text[:200]}"
            )
        removed.append(fault_id)
    return {"kind": kind, "removed": removed}


class DataPlaneError(Exception):
    """The data plane refused or failed a query of a burst."""


def _post_query(
    url: str,
    tenant: str,
    query_id: str,
    variables: Mapping[str, object],
    timeout: float = _TIMEOUT_SECONDS,
) -> httpx.Response:
    """A persisted query of the tenant at `url` (the GLB or one region), for a service."""
    return httpx.post(
        f"{url.rstrip('/')}/v1/tenants/{tenant}/query",
        json={"id": query_id, "variables": dict(variables)},
        headers=_SERVICE_PURPOSE,
        timeout=timeout,
    )


def _query(url: str, tenant: str, query_id: str, variables: Mapping[str, object]) -> object:
    response = _post_query(url, tenant, query_id, variables)
    if response.status_code != 200:
        raise DataPlaneError(
            f"{query_id} of {tenant} at {url} failed: HTTP {response.status_code} "
            f"{response.text[:200]}"
        )
    return response.json()


def _keys(url: str, tenant: str) -> list[str]:
    answer = _query(url, tenant, "list_entities", {"limit": _LIST_LIMIT})
    data = answer.get("data") if isinstance(answer, dict) else None
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list):
        raise DataPlaneError(f"list_entities of {tenant} at {url} returned no keys: {answer!r}")
    return [str(key) for key in keys]


def write_burst(region_url: str, tenant: str, prefix: str = "chaos-burst") -> dict[str, object]:
    """Write more new base entities than the tenant has, straight into one region (the one an
    autonomy simulation reads), so that more than half of its base data moved since then.

    The keys are `{prefix}:{n}`; `delete_burst` with the same prefix removes them."""
    existing = [key for key in _keys(region_url, tenant) if not key.startswith(f"{prefix}:")]
    written = len(existing) + 1
    for index in range(written):
        _query(
            region_url,
            tenant,
            "put_entity",
            {"key": f"{prefix}:{index}", "value": f"burst-{time.time_ns()}"},
        )
    return {"tenant": tenant, "existing": len(existing), "written": written, "prefix": prefix}


def delete_burst(region_url: str, tenant: str, prefix: str = "chaos-burst") -> dict[str, object]:
    """Delete every base entity of the tenant under `prefix` (the rollback of `write_burst`);
    it lists the keys instead of remembering them, so it also cleans up an interrupted run."""
    doomed = [key for key in _keys(region_url, tenant) if key.startswith(f"{prefix}:")]
    for key in doomed:
        _query(region_url, tenant, "delete_entity", {"key": key})
    return {"tenant": tenant, "deleted": len(doomed), "prefix": prefix}


def tenant_served(glb_url: str, tenant: str, timeout: float = 5.0) -> int:
    """A persisted read of the tenant through the data plane; returns the HTTP status."""
    try:
        response = _post_query(glb_url, tenant, "list_entities", {"limit": 1}, float(timeout))
    except httpx.HTTPError:
        return 0
    return response.status_code


def health_status(url: str, timeout: float = 5.0) -> int:
    """`GET {url}/healthz` of a component; the HTTP status, or 0 when it does not answer.

    A dead region is a deviation from the steady state, not a broken probe, hence no raise."""
    try:
        response = httpx.get(f"{url.rstrip('/')}/healthz", timeout=float(timeout))
    except httpx.HTTPError:
        return 0
    return response.status_code
