"""features/backout.feature (plan §A.4) through the plugin against a real reference staging."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]

TENANTS = ("TENANT_004", "TENANT_005")
SCENARIOS_PER_TENANT = 5
# the replay scenario also runs on an active/active tenant, whose two regions both take writes
REPLAY_ONLY_TENANTS = ("TENANT_002",)


def tenant_state(reference_staging, tenant: str) -> tuple[object, object]:
    command = [*reference_staging.profile.control.command, "tenant", "status"]
    done = subprocess.run(
        [*command, "--tenant", tenant, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    status = json.loads(done.stdout)
    return status["glb"], status["flags"]


def test_backout_feature_passes_and_restores_each_tenant(
    tmp_path: Path, reference_staging, run_feature
) -> None:
    before = {t: tenant_state(reference_staging, t) for t in (*TENANTS, *REPLAY_ONLY_TENANTS)}
    feature = (ROOT / "features" / "backout.feature").read_text()
    run = run_feature(reference_staging.profile_path, feature)
    assert run.returncode == 0, run.output
    total = SCENARIOS_PER_TENANT * len(TENANTS) + len(REPLAY_ONLY_TENANTS)
    assert f"{total} passed" in run.output, run.output
    for tenant in TENANTS:
        section = run.tenant_section(tenant)
        outcomes = [s["outcome"] for s in section["scenarios"]]
        assert outcomes == ["passed"] * SCENARIOS_PER_TENANT, (tenant, outcomes)
        names = {a["name"] for a in section["artifacts"]}
        for expected in (
            f"glb-bias-{tenant}.json",
            f"cache-ttl-disabled-{tenant}.json",
            f"cache-ttl-enabled-{tenant}.json",
            f"persisted-only-backout-{tenant}.json",
            f"ops-replay-{tenant}.json",
            f"provenance-{tenant}.json",
        ):
            assert expected in names, (tenant, sorted(names))
        assert f"replay-paths-{tenant}.json" in names, (tenant, sorted(names))
    for tenant in REPLAY_ONLY_TENANTS:
        names = {a["name"] for a in run.tenant_section(tenant)["artifacts"]}
        assert {f"ops-replay-{tenant}.json", f"replay-paths-{tenant}.json"} <= names, names
    # every backout was undone: GLB weights and flags are as they were before the run
    assert {t: tenant_state(reference_staging, t) for t in before} == before
