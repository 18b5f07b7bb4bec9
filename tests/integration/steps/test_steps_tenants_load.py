"""Tenant and load steps against the reference staging: real control CLI, real k6."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

FEATURE = """\
Feature: Tenant and load steps
  Scenario Outline: A GA tenant takes real traffic within its thresholds
    Given tenant <tenant> of the target profile
    Then tenant <tenant> runs active/active
    And the rollout of tenant <tenant> is at stage "ga"
    When k6 sends 200 requests of tenant <tenant>'s traffic
    Then the k6 thresholds derived from the QI catalog held

    Examples:
      | tenant     |
      | TENANT_001 |

  Scenario: A wrong mode fails naming what the target said
    Given tenant TENANT_004 of the target profile
    Then tenant TENANT_004 runs active/active
"""


def test_tenant_and_load_steps_record_real_evidence(
    tmp_path: Path, reference_staging, run_feature
) -> None:
    run = run_feature(reference_staging.profile_path, FEATURE)
    assert run.returncode == 1, run.output
    assert "1 failed, 1 passed" in run.output, run.output
    assert "tenant TENANT_004 runs active-passive, expected active-active" in run.output
    section = run.tenant_section("TENANT_001")
    assert [s["outcome"] for s in section["scenarios"]] == ["passed"]
    [k6_run] = [t for t in section["tool_runs"] if t["tool"] == "k6"]
    assert k6_run["version"]
    assert len(k6_run["binary_sha256"]) == 64
    assert [a["artifact_kind"] for a in section["artifacts"]] == ["k6-summary"]
