"""A Ctrl-C or SIGTERM that lands while an activity is still running stops the experiment.

chaoslib catches nothing but its own failures inside an activity and sleeps through the
activity's `pauses.after` in its clean-up, so an interrupt arriving mid-call would otherwise
wait out the whole hold. No target is needed: the activities are plain sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_mc.drivers.chaos_models import ChaosResult

EXPERIMENT = {
    "version": "1.0.0",
    "title": "A slow action followed by a long hold",
    "description": "The action takes 3 s; the hold after it 120 s.",
    "steady-state-hypothesis": {
        "title": "the probe answers",
        "probes": [
            {
                "type": "probe",
                "name": "answers",
                "tolerance": True,
                "provider": {"type": "python", "module": "slow_provider", "func": "ok"},
            }
        ],
    },
    "method": [
        {
            "type": "action",
            "name": "slow-action",
            "provider": {
                "type": "python",
                "module": "slow_provider",
                "func": "act",
                "arguments": {"marker": "MARKER", "secs": 3},
            },
            "pauses": {"after": 120},
        }
    ],
    "rollbacks": [
        {
            "type": "action",
            "name": "quick-rollback",
            "provider": {
                "type": "python",
                "module": "slow_provider",
                "func": "act",
                "arguments": {"marker": "ROLLED_BACK", "secs": 0},
            },
        }
    ],
}

PROVIDER = """
import time
from pathlib import Path


def act(marker, secs):
    Path(marker).touch()
    time.sleep(secs)


def ok():
    return True
"""

SCRIPT = """
import json
import sys
from pathlib import Path

sys.path.insert(0, sys.argv[1])
from pytest_mc.drivers.chaos import ChaosInterrupted, run_experiment
from pytest_mc.target.profile import TargetProfile

out = Path(sys.argv[1])
profile = TargetProfile.model_validate(json.loads((out / "profile.json").read_text()))
try:
    run_experiment(profile, out / "slow.json", journal_path=out / "journal.json")
except ChaosInterrupted as interrupted:
    (out / "result.json").write_text(interrupted.result.model_dump_json())
    raise
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_during_an_activity_does_not_wait_out_the_hold(
    tmp_path: Path, target_profile_document: dict[str, Any], signum: signal.Signals
) -> None:
    (tmp_path / "token").write_text("secret\n")
    (tmp_path / "profile.json").write_text(json.dumps(target_profile_document))
    experiment = json.loads(
        json.dumps(EXPERIMENT)
        .replace("MARKER", str(tmp_path / "acting"))
        .replace("ROLLED_BACK", str(tmp_path / "rolled-back"))
    )
    (tmp_path / "slow.json").write_text(json.dumps(experiment))
    (tmp_path / "slow_provider.py").write_text(PROVIDER)
    (tmp_path / "run.py").write_text(SCRIPT)
    process = subprocess.Popen(
        [sys.executable, str(tmp_path / "run.py"), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # a background job inherits an ignored SIGINT; the child must see Ctrl-C like a user
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler),
    )
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "acting").exists():
            assert process.poll() is None, process.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "the slow action never started"
            time.sleep(0.05)
        process.send_signal(signum)  # the 3 s action is still running
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode != 0, stderr[-2000:]
    result = ChaosResult.model_validate_json((tmp_path / "result.json").read_text())
    assert result.interrupted_by == signum.name
    assert result.rolled_back
    assert (tmp_path / "rolled-back").exists()
    assert result.duration_seconds < 30, "the driver slept through the activity's hold"
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert journal["status"] == "interrupted"
