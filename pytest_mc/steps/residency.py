"""Residency by where the data is (plan §A.1, §A.3): the holdings of every region outside a
tenant's jurisdiction, scanned once replication has had a lag-gate window.

A region outside the jurisdiction answers the tenant's reads with 451, so a direct read sees
nothing whatever the region holds; the holdings inventory (target contract §5) says what it
holds. The wait is the catalog's lag gate at the profile's time scale, after the suite saw its
own marker reach the tenant's peer region (`drivers.holdings.settle_replication`).
"""

from __future__ import annotations

from pytest_bdd import parsers, then

from pytest_mc.drivers.dataplane import DataPlaneClient
from pytest_mc.drivers.holdings import (
    HoldingsClient,
    ResidencyScan,
    scan_outside,
    settle_replication,
)
from pytest_mc.fixtures import McEvidence
from pytest_mc.steps.pacing import LAG_GATE_QI, lag_window_wall_seconds
from pytest_mc.steps.readiness import attach_json
from pytest_mc.target.profile import TargetProfile

INVENTORY_SOURCE = (
    "holdings inventory (GET /admin/holdings) of every region outside the jurisdiction"
)


def scan_and_record(
    evidence: McEvidence, profile: TargetProfile, tenant: str, *, when: str
) -> ResidencyScan:
    """Scan the regions outside `tenant`'s jurisdiction, attach the scan and measure
    privacy_violations from it (the rows found there); the caller asserts on `problems()`."""
    with HoldingsClient(profile) as holdings:
        scan = scan_outside(holdings, profile, tenant)
    attach_json(evidence, f"holdings-outside-{tenant}-{when}.json", tenant, scan.model_dump())
    evidence.measure(
        "privacy_violations",
        float(scan.rows_outside),
        tenant=tenant,
        samples=len(scan.scanned),
        source=f"{INVENTORY_SOURCE}, {when}",
    )
    return scan


@then(
    parsers.parse(
        "once replication has had a lag-gate window, no region outside tenant {tenant}'s "
        "jurisdiction holds its rows"
    )
)
def no_rows_outside_after_lag_window(
    mc_dataplane: DataPlaneClient,
    mc_profile: TargetProfile,
    mc_evidence: McEvidence,
    tenant: str,
) -> None:
    settle = settle_replication(
        mc_dataplane,
        tenant,
        mc_profile.tenant(tenant).regions,
        lag_window_wall_seconds=lag_window_wall_seconds(mc_evidence),
    )
    attach_json(mc_evidence, f"replication-settle-{tenant}.json", tenant, settle.model_dump())
    problem = settle.problem()
    assert problem is None, f"gate privacy_violations: {problem}"
    scan = scan_and_record(mc_evidence, mc_profile, tenant, when="after a lag-gate window")
    window = mc_evidence.catalog.get(LAG_GATE_QI).target
    assert_scan_clean(
        scan,
        when=f"a lag-gate window ({window:g}s plan) after the suite's marker reached {settle.peer}",
    )


def assert_scan_clean(scan: ResidencyScan, *, when: str) -> None:
    """Fail naming region, tenant and row count for every holding outside the jurisdiction."""
    problems = scan.problems()
    assert not problems, (
        f"gate privacy_violations, {when}: {scan.tenant}'s data is held outside its "
        f"{scan.residency} jurisdiction: {'; '.join(problems)}"
    )
    assert scan.scanned, (
        f"gate privacy_violations: no region outside {scan.tenant}'s jurisdiction was scanned"
    )
