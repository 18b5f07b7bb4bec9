"""`mc-verify run` writes the run's scenarios in CI's own formats, JUnit XML and Cucumber JSON,
read here with a standard JUnit reader, and digests both into the bundle; beside the bundle it
writes the standard attestations (docs/evidence.md), naming the bundle."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml, Properties, TestCase

from pytest_mc.evidence.attestations import (
    TEST_RESULT_PREDICATE,
    VSA_PREDICATE,
    attestation_path,
    check_attestations,
)
from pytest_mc.evidence.signing import TrustedKeys
from pytest_mc.settings import DEFAULT_RELEASE

pytestmark = pytest.mark.integration

# one scenario that passes and one that fails: a 4-cycle campaign is honestly inconclusive
SELECTION = "qi_catalog_is_frozen_at_v100 or campaign"
CAMPAIGN_FAILURE = "gate KPI sim_false_negative_rate inconclusive over 4 cycles"


def _properties(case: TestCase) -> dict[str, str]:
    found = case.child(Properties)
    return {} if found is None else {p.name: p.value for p in found}


def test_a_run_writes_junit_cucumber_and_the_attestations(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    done = subprocess.run(
        [sys.executable, "-m", "pytest_mc.cli.main", "run", "--out", str(out), "-k", SELECTION],
        cwd=tmp_path,
        env={**os.environ, "K6_NO_USAGE_REPORT": "true", "MC_AUTONOMY_CYCLES": "4"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    junit = out / f"junit-{DEFAULT_RELEASE}.xml"
    cucumber = out / f"cucumber-{DEFAULT_RELEASE}.json"

    cases = [case for suite in JUnitXml.fromfile(str(junit)) for case in suite]
    assert len(cases) == 2, [case.name for case in cases]
    failed = [case for case in cases if any(isinstance(r, Failure) for r in case.result)]
    assert len(failed) == 1, [case.name for case in cases]
    (failure,) = [r for r in failed[0].result if isinstance(r, Failure)]
    assert CAMPAIGN_FAILURE in (failure.message or ""), failure.message
    assert _properties(failed[0]) == {"tenant": "TENANT_001", "plan_section": "B.2"}

    features = json.loads(cucumber.read_text())
    scenarios = [element["name"] for feature in features for element in feature["elements"]]
    assert len(scenarios) == 2, scenarios

    bundle_path = out / f"evidence-{DEFAULT_RELEASE}.json"
    attested = check_attestations(bundle_path, trusted=TrustedKeys.of([]))
    assert [a.predicate_type for a in attested] == [TEST_RESULT_PREDICATE, VSA_PREDICATE]
    test_result = json.loads(
        base64.b64decode(
            json.loads(attestation_path(bundle_path, "test-result").read_text())["payload"]
        )
    )["predicate"]
    assert test_result["result"] == "FAILED"
    assert len(test_result["passedTests"]) == len(test_result["failedTests"]) == 1
    assert any(c["name"].endswith(".feature") for c in test_result["configuration"])

    bundle = json.loads(bundle_path.read_text())
    digested = {a["name"]: a["sha256"] for a in bundle["run_wide"]["artifacts"]}
    for path in (junit, cucumber):
        assert digested[path.name] == hashlib.sha256(path.read_bytes()).hexdigest(), path.name
