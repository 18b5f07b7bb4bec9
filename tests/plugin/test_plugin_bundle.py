"""Run a small feature through the plugin and parse what it wrote (the junitxml pattern):
the bundle validates against the committed schema, the tenant section holds each judged
measurement with its verdict, the DoD table, the tripwire and the artifact, the signature
verifies (and, as it is an ephemeral key's, its signer is not authenticated), and the
pytest-mc hooks fired once per event."""

from __future__ import annotations

import hashlib
import json

import jsonschema
import pytest
from plugin_helpers import BUNDLE_NAME, BUNDLE_SCHEMA, RunSuite, hook_calls

from pytest_mc.cli.main import main


@pytest.fixture
def finished(run_suite: RunSuite, project: pytest.Pytester) -> dict[str, object]:
    result = run_suite()
    result.assert_outcomes(passed=3)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["evidence bundle: *dist/evidence-v0.3.1-mc.json (REHEARSAL*"])
    bundle: dict[str, object] = json.loads((project.path / "dist" / BUNDLE_NAME).read_text())
    return bundle


def test_the_bundle_validates_against_the_committed_schema(finished: dict[str, object]) -> None:
    schema = json.loads(BUNDLE_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)

    errors = [error.message for error in validator.iter_errors(finished)]

    assert errors == []
    assert finished["release"] == "v0.3.1-mc"
    assert finished["rehearsal"] is True
    assert finished["time_scales"] == [600.0]
    assert finished["signing"]["ephemeral"] is True  # type: ignore[index]


def test_the_tenant_section_holds_each_measurement_with_its_verdict(
    finished: dict[str, object],
) -> None:
    section = finished["tenants"]["TENANT_004"]  # type: ignore[index]

    judged = [(m["qi_id"], m["value"], m["verdict"]) for m in section["measurements"]]
    assert judged == [
        ("replication_lag", 42.0, "pass"),
        ("replication_lag", 75.0, "fail"),
        ("p1_incidents", 0.0, "pass"),
    ]
    assert all(m["source"] in ("scrape", "incident log") for m in section["measurements"])
    assert all(m["nodeid"].startswith("test_lag.py::") for m in section["measurements"])
    scenarios = {s["scenario"]: (s["outcome"], s["plan_section"]) for s in section["scenarios"]}
    assert scenarios == {
        "Lag within bound": ("passed", "A.2"),
        "Lag beyond bound": ("passed", "A.2"),
        "The lag tripwire biases the GLB in time": ("passed", "A.2"),
    }
    (tripwire,) = section["tripwires"]
    assert (tripwire["qi_id"], tripwire["action_observed"], tripwire["verdict"]) == (
        "tripwire_replication_lag",
        "bias_glb",
        "pass",
    )
    assert tripwire["time_to_action_seconds"] == pytest.approx(30.0)  # 0.05 s wall × 600


def test_the_dod_table_has_the_measured_item_and_cannot_be_satisfied_by_a_rehearsal(
    finished: dict[str, object],
) -> None:
    rows = {(row["qi_id"], row["tenant"]): row for row in finished["dod"]}  # type: ignore[attr-defined]

    p1 = rows[("p1_incidents", "TENANT_004")]
    assert (p1["verdict"], p1["rehearsal"], p1["satisfied"]) == ("pass", True, False)
    unmeasured = rows[("privacy_incidents", None)]
    assert (unmeasured["verdict"], unmeasured["reason"]) == (
        "inconclusive",
        "not measured in this evidence",
    )


def test_the_artifact_is_stored_with_its_digest(
    finished: dict[str, object], project: pytest.Pytester
) -> None:
    (artifact,) = finished["tenants"]["TENANT_004"]["artifacts"]  # type: ignore[index]

    stored = project.path / "dist" / artifact["path"]
    assert artifact["name"] == "k6-summary.json"
    assert artifact["artifact_kind"] == "k6-summary"
    assert artifact["media_type"] == "application/json"
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == artifact["sha256"]


def test_the_written_bundle_verifies_but_its_ephemeral_signer_is_not_authenticated(
    finished: dict[str, object], project: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["evidence", "verify", str(project.path / "dist" / BUNDLE_NAME)])

    err = capsys.readouterr().err
    assert code == 2
    assert (
        "schema, 13 chained records, views and 1 artifacts check out and the signature is "
        "valid, but the signer ed25519:"
    ) in err
    assert "(an ephemeral key: only the run that made it held its public key" in err


def test_every_hook_fires_once_per_event(
    finished: dict[str, object], project: pytest.Pytester
) -> None:
    calls = hook_calls(project)

    by_hook: dict[str, list[dict[str, object]]] = {}
    for call in calls:
        by_hook.setdefault(str(call["hook"]), []).append(call)
    assert [(c["qi_id"], c["verdict"]) for c in by_hook["measurement"]] == [
        ("replication_lag", "pass"),
        ("replication_lag", "fail"),
        ("p1_incidents", "pass"),
    ]
    assert [c["qi_id"] for c in by_hook["tripwire"]] == ["tripwire_replication_lag"]
    assert [(c["tenant"], c["outcome"]) for c in by_hook["scenario"]] == [
        ("TENANT_004", "passed")
    ] * 3
    (bundle_call,) = by_hook["bundle"]
    assert bundle_call["tenants"] == ["TENANT_004"]
    assert str(bundle_call["path"]).endswith("dist/" + BUNDLE_NAME)
    assert calls[-1]["hook"] == "bundle"
