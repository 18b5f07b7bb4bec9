"""The T2 backout of the autonomy engine (plan §B.5), healthy and with the `t2-still-enacts`
defect: both refuse an approved enactment by tier and audit the refusal; only the healthy one
leaves the derived rows alone. The engine runs against a real control store and an in-memory
region gateway (the rows it holds are what a region would serve)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest

from mc_staging.autonomy import AutonomyEngine, compute_derived
from mc_staging.control_store import ControlStore
from mc_staging.defects import DEFECTS
from mc_staging.errors import PolicyRefused
from mc_staging.metrics import ControlMetrics
from mc_staging.seed import TenantRecord

KEY = b"k" * 32


class RegionRows:
    """Each region's base entities and derived rows; `set_derived` compares and sets."""

    def __init__(self, regions: list[str]) -> None:
        self.base: dict[str, list[list[object]]] = {region: [] for region in regions}
        self.derived: dict[str, dict[str, str | None]] = {region: {} for region in regions}

    async def snapshot(self, region: str, tenant: str) -> dict[str, object]:
        base = self.base[region]
        digest = hashlib.sha256(json.dumps(base).encode()).hexdigest()
        derived = {k: v for k, v in self.derived[region].items() if v is not None}
        return {"base": base, "derived": derived, "digest": digest}

    async def set_derived(
        self,
        region: str,
        tenant: str,
        expected: dict[str, str | None] | None,
        values: dict[str, str | None],
    ) -> tuple[int, dict[str, object]]:
        rows = self.derived[region]
        if expected is not None and any(rows.get(k) != v for k, v in expected.items()):
            return 409, {"error": "drift"}
        rows.update(values)
        return 200, {}


def _t2_refusal(tmp_path: Path, defects: frozenset[str]) -> tuple[RegionRows, str, list[str]]:
    """Simulate and approve at T3, back out to T2, enact: the gateway, the refusal message
    and the audit outcomes of `autonomy.enact` in the provenance log."""
    store = ControlStore(tmp_path / "control.db")
    tenant: TenantRecord = next(t for t in store.tenants().values() if t.autonomy_pilot)
    rows = RegionRows(list(tenant.regions))

    async def save(record: TenantRecord, action: str, details: dict[str, object]) -> None:
        store.save_tenant(record)

    engine = AutonomyEngine(store, ControlMetrics(), KEY, rows, save, defects=defects)

    async def run() -> str:
        await engine.set(tenant, "T3", "read-only", True)
        for region in tenant.regions:
            rows.base[region].append(["pilot:1", "value", 1])
        simulation = await engine.simulate(tenant, "derived_updates")
        assert simulation["predicted_changes"], "the base change must promise a derived change"
        approval = await engine.approve(tenant, simulation, "a-human", 60)
        await engine.set(tenant, "T2", None, None)
        with pytest.raises(PolicyRefused) as refused:
            await engine.enact(tenant, str(approval["token"]), simulation, op_id="op-t2")
        return str(refused.value)

    message = asyncio.run(run())
    outcomes = [
        str(r["details"]["outcome"])  # type: ignore[index]
        for r in store.provenance(tenant.id)
        if r["action"] == "autonomy.enact"
    ]
    return rows, message, outcomes


def test_the_defect_is_known() -> None:
    assert "t2-still-enacts" in DEFECTS


def test_a_healthy_engine_at_t2_refuses_and_writes_no_derived_row(tmp_path: Path) -> None:
    rows, message, outcomes = _t2_refusal(tmp_path, frozenset())
    assert "at tier T2; T3 is required" in message
    assert outcomes == ["refused"]
    assert all(derived == {} for derived in rows.derived.values()), rows.derived


def test_t2_still_enacts_refuses_as_healthy_but_writes_the_predicted_rows(tmp_path: Path) -> None:
    rows, message, outcomes = _t2_refusal(tmp_path, frozenset({"t2-still-enacts"}))
    assert "at tier T2; T3 is required" in message
    assert outcomes == ["refused"]
    predicted = compute_derived([["pilot:1", "value", 1]])
    assert all(derived == predicted for derived in rows.derived.values()), rows.derived
