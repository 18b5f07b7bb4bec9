"""features/dod.feature through the plugin: each DoD scenario reports its item from the evidence
the session recorded so far, passes only when the item is met, and fails naming why (missing
data inconclusive, rehearsal evidence never satisfying an item)."""

from __future__ import annotations

import json
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


def test_rehearsal_evidence_never_satisfies_an_item(isolated: pytest.Pytester) -> None:
    finished = _run(isolated, time_scale=600)

    p1 = finished["The Tier-3 pilot completes with zero P1s"]
    assert p1["outcome"] == "failed"
    assert str(p1["message"]).startswith(
        "AssertionError: DoD item Tier-3 pilot: P1 incidents during the pilot: not met — the "
        "evidence passes (0) but is a rehearsal (time scale 600), which cannot satisfy a GA "
        "DoD item"
    )
    assert {name for name, body in finished.items() if body["outcome"] == "passed"} == {
        "test_pilot_review"
    }
    attached = Path(isolated.path / "dist" / "artifacts")
    assert any(path.name.endswith("dod-report.json") for path in attached.iterdir())
