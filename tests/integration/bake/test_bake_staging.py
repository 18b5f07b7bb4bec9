"""`mc-verify bake` against the reference staging, run as CI runs it (a subprocess).

Short bakes at the reference time scale (600: one plan hour is six wall seconds): a bake
runs and its bundle verifies; SIGKILL mid-run then `--resume` gives one valid chain with
every slice exactly once; SIGTERM stops cleanly with the interruption in the evidence; and
a 14-day streak at a compressed day length is recorded, green and labelled a rehearsal.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_mc.evidence.bundle import read_bundle
from pytest_mc.evidence.signing import generate_signing_key
from pytest_mc.policy.verdict import Verdict

pytestmark = pytest.mark.integration

TENANT = "TENANT_004"
MC_VERIFY = str(Path(sys.executable).parent / "mc-verify")
RELEASE = "v0.3.1-mc"
# Generous bounds for a loaded CI machine; they only stop a hung bake, they time nothing.
BAKE_TIMEOUT = 240


def _bake(profile: Path, out: Path, *args: str) -> list[str]:
    return [
        MC_VERIFY,
        "bake",
        "--tenant",
        TENANT,
        "--target",
        str(profile),
        "--out",
        str(out),
        "--signing-key",
        str(_signing_key(out)),
        # the preflight has its own tests (tests/integration/target); the bakes here judge
        "--no-target-check",
        *args,
    ]


def _signing_key(out: Path) -> Path:
    """The key a bake into `out` signs with (made once), its public key beside it."""
    key = out.parent / "bake-key.pem"
    if not key.exists():
        generate_signing_key(key)
    return key


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=BAKE_TIMEOUT, check=False)


def _chain_bodies(out: Path) -> list[dict[str, object]]:
    chain = out / f"evidence-{RELEASE}.chain.jsonl"
    lines = chain.read_bytes().split(b"\n")
    return [json.loads(line)["body"] for line in lines[:-1]]


def _kinds(out: Path, kind: str) -> list[dict[str, object]]:
    return [body for body in _chain_bodies(out) if body["kind"] == kind]


def _verify(out: Path) -> subprocess.CompletedProcess[str]:
    public_key = _signing_key(out).with_name("bake-key.pub.pem")
    bundle = out / f"evidence-{RELEASE}.json"
    return _run([MC_VERIFY, "evidence", "verify", str(bundle), "--public-key", str(public_key)])


def _start_and_wait_for_checkpoints(
    argv: list[str], out: Path, count: int
) -> subprocess.Popen[str]:
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + BAKE_TIMEOUT
    chain = out / f"evidence-{RELEASE}.chain.jsonl"
    while time.monotonic() < deadline and process.poll() is None:
        if chain.is_file() and chain.read_bytes().count(b'"kind":"bake_checkpoint"') >= count:
            return process
        time.sleep(0.2)
    process.kill()
    out_text, err_text = process.communicate()
    pytest.fail(f"the bake wrote no {count} checkpoint(s): {out_text[-800:]} {err_text[-800:]}")


def _processes_under(path: Path) -> list[int]:
    """Pids whose command line names `path` (k6 runs export their summary there)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                if str(path).encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


def _kill_leftovers(path: Path) -> list[int]:
    pids = _processes_under(path)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids


def test_a_short_bake_judges_every_slice_and_its_bundle_verifies(
    reference_staging, tmp_path: Path
) -> None:
    out = tmp_path / "dist"
    done = _run(_bake(reference_staging.profile_path, out, "--duration", "2h"))
    _kill_leftovers(out)
    # 2h of a 24h stage: stage_bake fails, so the bake fails (exit 1), for that reason only
    assert done.returncode == 1, done.stdout + done.stderr
    assert "stage_bake: 7200 s misses >= 86400" in done.stdout.replace("\n", " ")
    assert _verify(out).returncode == 0
    bundle = read_bundle(out / f"evidence-{RELEASE}.json")
    section = bundle.tenants[TENANT]
    assert [c.slice_index for c in section.slices] == [0, 1]
    assert [e.event for e in section.bake_events] == ["started", "finished"]
    assert section.bake_events[-1].outcome == "failed"
    assert bundle.rehearsal
    verdicts = {(m.qi_id, m.verdict) for m in section.measurements}
    for gate in ("replication_lag", "privacy_violations", "budget_utilization"):
        assert (gate, Verdict.PASS) in verdicts
        assert (gate, Verdict.FAIL) not in verdicts
    assert ("conflict_rate", Verdict.FAIL) not in verdicts
    assert ("stage_bake", Verdict.FAIL) in verdicts
    assert all(checkpoint.gates.requests for checkpoint in section.slices)
    assert any(a.artifact_kind == "k6-summary" for a in section.artifacts)
    assert len(bundle.runs) == 1
    assert bundle.runs[0].exit_status == 1


def test_a_lag_the_target_does_not_count_fails_the_bake_on_the_suites_own_markers(
    staging_with_defect, tmp_path: Path
) -> None:
    """`lag-counted-from-receipt`: every change is 90 s of plan time late and the target's
    lag figures say ~0; each slice's marker writes prove the lag (the healthy control is the
    short bake above, whose lag gate passes)."""
    out = tmp_path / "dist"
    with staging_with_defect("lag-counted-from-receipt") as staging:
        done = _run(_bake(staging.profile_path, out, "--duration", "2h"))
        _kill_leftovers(out)
    text = (done.stdout + done.stderr).replace("\n", " ")
    assert done.returncode == 1, text
    assert "target metric disagrees with observation: the target's lag of TENANT_004" in text
    assert "past the 60 s threshold of the replication_lag gate that the metric never" in text
    section = read_bundle(out / f"evidence-{RELEASE}.json").tenants[TENANT]
    lag = [m for m in section.measurements if m.qi_id == "replication_lag"]
    assert lag, "no replication_lag measurement"
    assert all(m.verdict == Verdict.FAIL for m in lag), [(m.value, m.verdict) for m in lag]
    # each slice's figure is the markers' (about 90 s plan, the shipping delay), the bake-wide
    # one is the worst slice's
    by_markers = [m for m in lag if "judged on the worse of it and the suite's markers" in m.source]
    assert len(by_markers) == 2, [m.source for m in lag]
    assert all(m.value is not None and m.value > 60 for m in by_markers)


def test_sigkill_mid_bake_then_resume_gives_one_chain_with_every_slice_once(
    reference_staging, tmp_path: Path
) -> None:
    out = tmp_path / "dist"
    argv = _bake(reference_staging.profile_path, out, "--duration", "4h")
    process = _start_and_wait_for_checkpoints(argv, out, 1)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    _kill_leftovers(out)  # the killed bake's k6 segment
    started = _kinds(out, "bake_event")
    assert [e["event"] for e in started] == ["started"]
    killed_at = len(_kinds(out, "bake_checkpoint"))
    assert 1 <= killed_at < 4

    resumed = _run([*_bake(reference_staging.profile_path, out), "--resume"])
    _kill_leftovers(out)
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr  # stage_bake: short bake
    assert _verify(out).returncode == 0
    checkpoints = _kinds(out, "bake_checkpoint")
    assert [c["slice_index"] for c in checkpoints] == [0, 1, 2, 3]
    assert len({c["bake_id"] for c in checkpoints}) == 1
    events = _kinds(out, "bake_event")
    assert [e["event"] for e in events] == ["started", "resumed", "finished"]
    assert events[1]["next_slice"] == killed_at
    assert len({e["bake_id"] for e in events}) == 1
    bundle = read_bundle(out / f"evidence-{RELEASE}.json")
    assert len(bundle.chains) == 1
    assert len(bundle.runs) == 2
    assert bundle.runs[0].finished_at is None  # the killed run never finished
    stage = [m for m in bundle.tenants[TENANT].measurements if m.qi_id == "stage_bake"]
    assert [m.value for m in stage] == [4 * 3600.0]


def test_sigterm_stops_cleanly_with_the_interruption_in_signed_evidence(
    reference_staging, tmp_path: Path
) -> None:
    out = tmp_path / "dist"
    argv = _bake(reference_staging.profile_path, out, "--duration", "6h")
    process = _start_and_wait_for_checkpoints(argv, out, 1)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=BAKE_TIMEOUT)
    leftovers = _kill_leftovers(out)
    assert process.returncode == 3, stdout + stderr
    assert leftovers == [], "the bake left k6 running after SIGTERM"
    assert _verify(out).returncode == 0
    events = _kinds(out, "bake_event")
    assert [e["event"] for e in events] == ["started", "interrupted"]
    assert "stopped by SIGTERM" in str(events[-1]["detail"])
    slices = [c["slice_index"] for c in _kinds(out, "bake_checkpoint")]
    assert slices == list(range(len(slices)))
    assert events[-1]["next_slice"] == len(slices) < 6
    runs = _kinds(out, "run_finished")
    assert [r["exit_status"] for r in runs] == [3]


def test_fourteen_compressed_days_make_a_green_streak_labelled_rehearsal(
    reference_staging, tmp_path: Path
) -> None:
    out = tmp_path / "dist"
    done = _run(_bake(reference_staging.profile_path, out, "--days", "14", "--day-length", "1h"))
    _kill_leftovers(out)
    assert "day 13 GREEN (rehearsal)" in done.stdout, done.stdout + done.stderr
    assert _verify(out).returncode == 0
    bundle = read_bundle(out / f"evidence-{RELEASE}.json")
    section = bundle.tenants[TENANT]
    assert [d.day_index for d in section.days] == list(range(14))
    assert all(d.green and d.rehearsal for d in section.days), [
        (d.day_index, d.slo.reasons, d.cost.reasons, d.privacy.reasons)
        for d in section.days
        if not d.green
    ]
    assert "REHEARSAL" in section.days[0].scale
    assert section.streak is not None
    assert section.streak.current_days == 14
    assert section.streak.rehearsal
    streak = [m for m in section.measurements if m.qi_id == "expansion_green_streak"]
    assert [m.value for m in streak][-1] == 14
    assert streak[-1].verdict is Verdict.PASS
    row = next(r for r in bundle.dod if r.qi_id == "expansion_green_streak" and r.tenant == TENANT)
    assert row.verdict is Verdict.PASS
    assert not row.satisfied  # a rehearsal never satisfies the GA DoD
    # 14h of a 24h stage: the bake itself fails stage_bake, and only that
    assert done.returncode == 1
    finished = section.bake_events[-1]
    assert finished.detail is not None
    assert finished.detail.startswith("stage_bake:")
