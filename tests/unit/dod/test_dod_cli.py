"""`mc-verify dod`: the table and its exit codes (0 only for every item met at time scale 1),
JSON, the default bundle, and a tampered bundle, or one whose signer is not trusted, refused
with exit 2 and one line."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from dod_helpers import CliResult, Plan, build_bundle, public_key_of

from pytest_mc.evidence.publish import publish
from pytest_mc.evidence.recorder import EvidencePaths
from pytest_mc.evidence.signing import TRUST_ENV, load_signing_key
from pytest_mc.policy.catalog import QiCatalog
from pytest_mc.schemas import validate_instance

BundleOf = Callable[[Plan], Path]
RunCli = Callable[..., CliResult]


def flip_digit(path: Path, needle: bytes) -> None:
    """Change one digit inside the first `needle` of the bundle's chains (still valid JSON)."""
    data = bytearray(path.read_bytes())
    start = data.index(needle, data.index(b'"chains"'))
    position = next(i for i in range(start, start + len(needle)) if chr(data[i]).isdigit())
    data[position] = ord("0") + (data[position] - ord("0") + 1) % 10
    path.write_bytes(bytes(data))


def test_every_item_met_at_time_scale_1_exits_0(bundle_of: BundleOf, run_cli: RunCli) -> None:
    bundle = bundle_of(Plan())
    result = run_cli("dod", bundle, "--public-key", public_key_of(bundle))

    assert result.code == 0, result.out + result.err
    assert "Definition of Done" in result.out
    assert "TENANT_004 at A/A GA" in result.out
    assert "mc-verify dod: exit 0 (DoD met: all 11 items pass on evidence at time scale 1)" in (
        result.out
    )


def test_rehearsal_evidence_exits_1_and_says_so(bundle_of: BundleOf, run_cli: RunCli) -> None:
    bundle = bundle_of(Plan(time_scale=600))
    result = run_cli("dod", bundle, "--public-key", public_key_of(bundle))

    assert result.code == 1
    assert "REHEARSAL" in result.out
    assert "rehearsal evidence (time scale 600) cannot satisfy a GA DoD item" in result.out
    assert "warning: rehearsal evidence" in result.err


def test_json_names_every_unmet_item(bundle_of: BundleOf, run_cli: RunCli) -> None:
    bundle = bundle_of(Plan(pilot={}, ga_delta_report=False))
    result = run_cli("dod", bundle, "--json", "--public-key", public_key_of(bundle))

    assert result.code == 1
    document = json.loads(result.out)
    unmet = {item["id"]: item["verdict"] for item in document["items"] if not item["met"]}
    assert unmet == {
        "p1_incidents": "inconclusive",
        "autonomy_success_rate": "inconclusive",
        "compensation_rate": "inconclusive",
        "sim_false_negative_rate": "inconclusive",
        "ga_delta_report": "inconclusive",
    }
    assert document["met"] is False
    validate_instance("dod-report", document, where="mc-verify dod --json")
    assert "DoD not met: 5 of 11 items unmet" in result.err


def test_a_flipped_byte_is_refused_with_exit_2_and_one_line(
    bundle_of: BundleOf, run_cli: RunCli
) -> None:
    bundle = bundle_of(Plan())
    flip_digit(bundle, b'"value": 12.0')

    result = run_cli("dod", bundle)

    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ")
    assert "hash mismatch, the record's content was altered" in lines[0]
    assert "Traceback" not in result.err
    assert result.out == ""


def test_default_bundle_is_the_newest_published_in_dist(
    tmp_path: Path, catalog: QiCatalog, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_bundle(tmp_path / "dist", catalog, Plan())
    time.sleep(0.01)
    build_bundle(tmp_path / "dist", catalog, Plan(time_scale=600), release="v0.3.2-mc")
    time.sleep(0.01)
    # a derived snapshot written later, with no chain of its own, is not the run's bundle
    snapshot = tmp_path / "dist" / "evidence-v0.3.2-mc.ga-delta-input.json"
    snapshot.write_bytes((tmp_path / "dist" / "evidence-v0.3.1-mc.json").read_bytes())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(TRUST_ENV, str(public_key_of(tmp_path / "dist" / "evidence-v0.3.2-mc.json")))

    result = run_cli("dod", "--json")

    assert result.out, result.err
    assert json.loads(result.out)["evidence"] == "dist/evidence-v0.3.2-mc.json"
    assert result.code == 1


def test_no_bundle_in_dist_is_exit_2(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    result = run_cli("dod")

    assert result.code == 2
    assert result.err.strip() == (
        "error: no evidence bundle (evidence-*.json) in dist/; pass BUNDLE, or write one with "
        "`mc-verify run`"
    )


def test_decision_expands_on_clean_evidence_at_time_scale_1(
    bundle_of: BundleOf, run_cli: RunCli, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    bundle = bundle_of(Plan())
    result = run_cli(
        "dod", bundle, "--decision", "--out", out, "--public-key", public_key_of(bundle)
    )

    assert result.code == 0, result.err
    assert result.out.startswith("# Week-5 decision: Expand the autonomy pilot")
    written = json.loads((out / "week5-decision.json").read_text())
    assert written["decision"] == "expand"
    assert (out / "week5-decision.md").read_text() == result.out


def test_decision_holds_on_rehearsal_evidence(bundle_of: BundleOf, run_cli: RunCli) -> None:
    bundle = bundle_of(Plan(time_scale=600))
    result = run_cli("dod", bundle, "--decision", "--json", "--public-key", public_key_of(bundle))

    assert result.code == 1
    document = json.loads(result.out)
    assert (document["decision"], document["kpis_support_expansion"]) == ("hold", True)
    assert "mc-verify dod --decision: exit 1 (hold)" in result.err


def test_out_without_decision_is_a_usage_error(
    bundle_of: BundleOf, run_cli: RunCli, tmp_path: Path
) -> None:
    result = run_cli("dod", bundle_of(Plan()), "--out", tmp_path)

    assert result.code == 2
    assert "--out writes the decision report: use it with --decision" in result.err


def test_a_bundle_republished_with_a_fresh_key_is_refused_with_the_trusted_key(
    bundle_of: BundleOf, run_cli: RunCli, catalog: QiCatalog
) -> None:
    bundle = bundle_of(Plan())
    trusted = public_key_of(bundle)
    chain = EvidencePaths(bundle.parent, "v0.3.1-mc").chain
    lines = chain.read_bytes().splitlines(keepends=True)
    chain.write_bytes(b"".join(lines[:-1]))  # drop run_finished: still a valid chain
    forger = load_signing_key(None)
    publish(chain, bundle, catalog, forger, release="v0.3.1-mc")

    result = run_cli("dod", bundle, "--public-key", trusted)

    assert result.code == 2
    (line,) = result.err.strip().splitlines()
    assert line.startswith("error: ")
    assert f"the signer {forger.keyid}" in line
    assert "is not a trusted key (trusted: ed25519:" in line
    assert result.out == ""


def test_without_a_trusted_key_dod_refuses_the_signer_and_says_how_to_trust_one(
    bundle_of: BundleOf, run_cli: RunCli
) -> None:
    result = run_cli("dod", bundle_of(Plan()))

    assert result.code == 2
    (line,) = result.err.strip().splitlines()
    assert "is not authenticated: no trusted key was given" in line
    assert f"--public-key PUB.pem, or list it in ${TRUST_ENV}" in line
    assert result.out == ""


def test_the_trusted_key_can_come_from_mc_trusted_keys(
    bundle_of: BundleOf, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = bundle_of(Plan())
    monkeypatch.setenv(TRUST_ENV, str(bundle.parent))

    result = run_cli("dod", bundle)

    assert result.code == 0, result.err
