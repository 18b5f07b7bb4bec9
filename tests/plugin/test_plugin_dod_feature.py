"""features/dod.feature through the plugin: each DoD scenario reports its item from the evidence
the session recorded so far and fails naming why (missing data inconclusive). At time scale 1
a scenario passes only when its item is met; a rehearsal passes the scenarios whose evidence
passes, while its report and `mc-verify dod` meet no item."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from plugin_helpers import PROFILE, REPO

# Runs before the DoD scenarios (pytest keeps definition order): a pilot review that measured
# zero P1s and 3,000 clean enactments, and nothing else.
PILOT_REVIEW = """\
from pytest_bdd import scenarios

from pytest_mc.policy.verdict import Ratio


def test_pilot_review(mc_evidence):
    mc_evidence.measure("p1_incidents", 0, tenant="TENANT_001", source="incident log", samples=90)
    mc_evidence.measure(
        "autonomy_success_rate",
        Ratio(events=3000, trials=3000),
        tenant="TENANT_001",
        source="enactment audits",
    )


scenarios("dod.feature")
"""

MET_AT_SCALE_1 = {
    "The Tier-3 pilot completes with zero P1s",
    "The pilot's autonomy success rate is at least 99.9%",
    "The evidence bundle is updated, signed, with its chain intact",
    "The QI catalog v1 is frozen and referenced",
}


def _run(pytester: pytest.Pytester, *, time_scale: int) -> dict[str, dict[str, object]]:
    """Run the feature; returns each scenario's `scenario_finished` record by scenario name."""
    pytester.makefile(
        ".yaml", profile=PROFILE.replace("time_scale: 600", f"time_scale: {time_scale}")
    )
    pytester.makefile(".feature", dod=(REPO / "features" / "dod.feature").read_text())
    pytester.makepyfile(test_dod=PILOT_REVIEW)
    key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (pytester.path / "key.pem").write_bytes(key)
    result = pytester.runpytest_subprocess(
        "-p", "mc", "-p", "no:cacheprovider",
        "--mc-target", "profile.yaml", "--mc-out", "dist", "--mc-signing-key", "key.pem",
    )  # fmt: skip
    assert result.ret == 1, result.stdout.str()
    chain = pytester.path / "dist" / "evidence-v0.3.1-mc.chain.jsonl"
    bodies = [json.loads(line)["body"] for line in chain.read_text().splitlines()]
    names = {b["nodeid"]: b["scenario"] for b in bodies if b["kind"] == "scenario_started"}
    return {names[b["nodeid"]]: b for b in bodies if b["kind"] == "scenario_finished"}


@pytest.fixture
def isolated(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "true")
    return pytester


def test_each_item_is_judged_from_the_session_so_far(isolated: pytest.Pytester) -> None:
    finished = _run(isolated, time_scale=1)

    passed = {name for name, body in finished.items() if body["outcome"] == "passed"}
    assert passed == MET_AT_SCALE_1 | {"test_pilot_review"}
    assert len(finished) == 12
    compensation = finished["The pilot's compensation rate is at most 0.5%"]
    assert compensation["outcome"] == "failed"
    assert str(compensation["message"]).startswith(
        "AssertionError: DoD item Tier-3 pilot: Compensation rate: not met — inconclusive: no "
        "compensation_rate measurement of TENANT_001 in this evidence"
    )
    ga = finished["TENANT_005 is at active/active GA"]
    assert "the rollout never held stage ga in this evidence" in str(ga["message"])
    delta = finished["The GA delta report is appended"]
    assert "no artifact record named ga-delta-report-v0.3.json" in str(delta["message"])
    # every DoD scenario is run-wide: none lands in a tenant's section
    assert {body["tenant"] for body in finished.values()} == {None}


def test_a_rehearsal_passes_what_its_evidence_passes_and_meets_nothing(
    isolated: pytest.Pytester,
) -> None:
    finished = _run(isolated, time_scale=600)

    # the scenarios of the items whose evidence passes pass, as rehearsal ...
    passed = {name for name, body in finished.items() if body["outcome"] == "passed"}
    assert passed == MET_AT_SCALE_1 | {"test_pilot_review"}
    compensation = finished["The pilot's compensation rate is at most 0.5%"]
    assert str(compensation["message"]).startswith(
        "AssertionError: DoD item Tier-3 pilot: Compensation rate: not met — inconclusive"
    )
    # ... while the attached report meets no item: every one is rehearsal evidence
    artifacts = isolated.path / "dist" / "artifacts"
    reports = sorted(artifacts.glob("*dod-report.json"))
    assert reports
    report = json.loads(reports[-1].read_text())
    p1 = next(item for item in report["items"] if item["id"] == "p1_incidents")
    assert (p1["verdict"], p1["rehearsal"], p1["met"]) == ("pass", True, False)
    assert not any(item["met"] for item in report["items"])
    # and the GA verdict on the bundle refuses the rehearsal
    dod = isolated.run(
        str(Path(sys.executable).parent / "mc-verify"), "dod", "dist/evidence-v0.3.1-mc.json",
        "--public-key", "key.pem",
    )  # fmt: skip
    assert dod.ret == 1, dod.stdout.str()
    assert "REHEARSAL" in dod.stdout.str()
