"""features/evidence_integration.feature (plan §C) through the plugin against a reference
staging: every artifact produced, attached and sane."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCENARIOS = 3
ARTIFACTS = (
    "ga-delta-report-v0.3.json",
    "ga-delta-report-v0.3.md",
    "dr-drill-schedule.json",
    "dr-drill-schedule.ics",
    "privacy-dashboard.json",
    "privacy-dashboard.provisioning.yaml",
    "privacy-dashboard.folder.json",
)


def test_evidence_integration_feature_produces_and_attaches_the_artifacts(
    tmp_path: Path, reference_staging, run_project_feature
) -> None:
    run = run_project_feature(reference_staging.profile_path, "evidence_integration.feature")
    assert run.returncode == 0, run.output
    assert f"{SCENARIOS} passed" in run.output, run.output
    run_wide = run.bundle["run_wide"]
    assert [s["outcome"] for s in run_wide["scenarios"]] == ["passed"] * SCENARIOS
    attached = {a["name"]: a for a in run_wide["artifacts"]}
    for name in ARTIFACTS:
        assert name in attached, sorted(attached)
    out = tmp_path / "out"
    report = json.loads((out / "integration" / "ga-delta-report-v0.3.json").read_text())
    # a rehearsal on the reference staging: TENANT_001..003 were at GA before, nothing was
    # rolled out in this run, so nothing is added and the rehearsal is an open risk
    assert report["ga_before"] == ["TENANT_001", "TENANT_002", "TENANT_003"]
    assert report["added"] == []
    assert report["rehearsal"] is True
    assert "rehearsal_only" in {risk["kind"] for risk in report["open_risks"]}
    schedule = json.loads((out / "integration" / "dr-drill-schedule.json").read_text())
    assert [d["tenant"] for d in schedule["drills"]] == [
        t.id for t in sorted(reference_staging.profile.tenants, key=lambda t: t.id)
    ]
    ics = (out / "integration" / "dr-drill-schedule.ics").read_bytes()
    assert ics.count(b"BEGIN:VEVENT") == 12 * len(schedule["drills"])
