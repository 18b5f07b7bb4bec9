"""The chaos driver and the chaos/ experiments against a real reference staging.

Deviation and rollback recorded, plain `chaos run`, Ctrl-C and SIGTERM mid-experiment,
a timeout, and refused unsafe targets (nothing injected).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from pytest_mc.drivers.chaos import ChaosResult, run_experiment
from pytest_mc.errors import UnsafeTargetError
from pytest_mc.paths import project_dir
from pytest_mc.target.profile import TargetProfile

pytestmark = pytest.mark.integration

CHAOS_DIR = project_dir("chaos")
TENANT = "TENANT_003"


def faults(staging: Any) -> list[dict[str, Any]]:
    assert staging.profile.admin is not None
    response = httpx.get(
        f"{staging.profile.admin.url}/admin/faults",
        headers={"Authorization": f"Bearer {staging.admin_secret}"},
        timeout=10,
    )
    assert response.status_code == 200
    return list(response.json()["faults"])


def test_deviation_and_rollback_are_recorded(
    reference_staging: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="chaostoolkit")
    journal = tmp_path / "journal.json"
    result = run_experiment(
        reference_staging.profile,
        "error-budget-burn",
        journal_path=journal,
        tenant=TENANT,
        configuration={"error_rate": 1.0, "hold_seconds": 0.3},
    )
    assert result.status == "completed"
    assert result.steady_state_before_met is True
    assert result.deviated  # every read of the tenant answers 503 while the fault holds
    assert result.rolled_back
    assert not result.rollback_retried
    assert result.steady_state_restored
    assert not result.interrupted
    phases = [(a.phase, a.name, a.status) for a in result.activities]
    assert ("method", "inject-error-rate", "succeeded") in phases
    assert ("rollback", "remove-error-rate", "succeeded") in phases
    assert phases[-1][0] == "restore-check"
    assert faults(reference_staging) == []
    text = journal.read_text()
    assert reference_staging.admin_secret not in text
    recorded = json.loads(text)
    assert recorded["status"] == "completed"
    assert recorded["deviated"] is True
    assert recorded["steady_states"]["after"]["steady_state_met"] is False
    assert [run["status"] for run in recorded["rollbacks"]] == ["succeeded"]
    assert recorded["steady_states"]["restored"]["steady_state_met"] is True
    assert result.journal_sha256 == hashlib.sha256(journal.read_bytes()).hexdigest()
    assert result.configuration["tenant"] == TENANT
    assert "inject-error-rate" in caplog.text  # chaoslib's log went through the redacting filter
    assert reference_staging.admin_secret not in caplog.text


def test_timeout_interrupts_the_method_and_still_rolls_back(
    reference_staging: Any, tmp_path: Path
) -> None:
    result = run_experiment(
        reference_staging.profile,
        "latency",
        journal_path=tmp_path / "journal.json",
        tenant=TENANT,
        configuration={"latency_ms": 10, "hold_seconds": 60},
        timeout_seconds=3,
    )
    assert result.status == "timed_out"
    assert result.timed_out
    assert not result.interrupted
    assert result.rolled_back
    assert result.steady_state_restored
    assert faults(reference_staging) == []
    assert json.loads((tmp_path / "journal.json").read_text())["status"] == "interrupted"


def test_plain_chaos_run_works_with_the_documented_env(
    reference_staging: Any, tmp_path: Path
) -> None:
    profile: TargetProfile = reference_staging.profile
    assert profile.admin is not None
    (tmp_path / "settings.yaml").write_text("{}\n")
    env = {
        **os.environ,
        "MC_ADMIN_URL": profile.admin.url,
        "MC_GLB_URL": profile.glb_url,
        "MC_ADMIN_TOKEN": reference_staging.admin_secret,
        "MC_TENANT": TENANT,
        "MC_LATENCY_MS": "20",
        "MC_HOLD_SECONDS": "0.2",
    }
    argv = [
        str(Path(sys.executable).parent / "chaos"),
        "--no-version-check",
        "--settings",
        str(tmp_path / "settings.yaml"),
        "--log-file",
        str(tmp_path / "chaos.log"),
        "run",
        "--rollback-strategy",
        "always",
        "--journal-path",
        str(tmp_path / "journal.json"),
        str(CHAOS_DIR / "latency.json"),
    ]
    done = subprocess.run(
        argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert journal["status"] == "completed"
    assert journal["deviated"] is False
    assert [run["status"] for run in journal["run"]] == ["succeeded"]
    assert journal["run"][0]["output"]["kind"] == "latency"
    assert [run["status"] for run in journal["rollbacks"]] == ["succeeded"]
    assert faults(reference_staging) == []
    for path in (tmp_path / "journal.json", tmp_path / "chaos.log"):
        assert reference_staging.admin_secret not in path.read_text()


_DRIVER_SCRIPT = """
import faulthandler
import sys
from pathlib import Path
# if the driver ever hangs, its threads' stacks land in stacks.txt for the failure message
faulthandler.dump_traceback_later(50, file=open(Path(sys.argv[2]) / "stacks.txt", "w"))
from pytest_mc.drivers.chaos import ChaosInterrupted, run_experiment
from pytest_mc.target.profile import TargetProfile
import yaml

profile = TargetProfile.model_validate(yaml.safe_load(Path(sys.argv[1]).read_text()))
out = Path(sys.argv[2])
try:
    result = run_experiment(profile, "latency", journal_path=out / "journal.json",
                            tenant=sys.argv[3], configuration={"latency_ms": 10,
                            "hold_seconds": 120})
except ChaosInterrupted as interrupted:
    (out / "result.json").write_text(interrupted.result.model_dump_json())
    raise
(out / "result.json").write_text(result.model_dump_json())
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_mid_experiment_rolls_back_and_records_the_interrupt(
    reference_staging: Any, tmp_path: Path, signum: signal.Signals
) -> None:
    script = tmp_path / "run_chaos.py"
    script.write_text(_DRIVER_SCRIPT)
    process = subprocess.Popen(
        [sys.executable, str(script), str(reference_staging.profile_path), str(tmp_path), TENANT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # a background job inherits an ignored SIGINT; the child must see Ctrl-C like a user
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler),
    )
    try:
        deadline = time.monotonic() + 60
        while not any(f["kind"] == "latency" for f in faults(reference_staging)):
            assert process.poll() is None, process.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "the experiment never injected its fault"
            time.sleep(0.1)
        process.send_signal(signum)  # during the 120 s hold, i.e. mid-experiment
        try:
            _, stderr = process.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            stacks = tmp_path / "stacks.txt"
            pytest.fail(f"the driver did not stop after {signum.name}:\n{stacks.read_text()}")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode not in (0, None), stderr[-2000:]
    assert "KeyboardInterrupt" in stderr or "ChaosInterrupted" in stderr
    assert faults(reference_staging) == []
    result = ChaosResult.model_validate_json((tmp_path / "result.json").read_text())
    assert result.interrupted
    assert result.interrupted_by == signum.name
    assert result.status == "interrupted"
    assert result.rolled_back
    assert result.steady_state_restored
    journal_text = (tmp_path / "journal.json").read_text()
    assert reference_staging.admin_secret not in journal_text
    journal = json.loads(journal_text)
    assert journal["status"] == "interrupted"
    assert journal["rollbacks"][-1]["status"] == "succeeded"


def _unsafe(profile: TargetProfile, **changes: Any) -> TargetProfile:
    return TargetProfile.model_validate({**profile.model_dump(), **changes})


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"environment": "production"},
            r"^refused to run chaos experiment 'region-outage.json' against target "
            r"'mc-staging-local': environment is 'production', not 'staging'; ",
        ),
        (
            {"allowed_hosts": ["staging.example.internal"]},
            r"^refused to run chaos experiment 'region-outage.json' against target "
            r"'mc-staging-local': glb_url host '127.0.0.1' is not in allowed_hosts ",
        ),
    ],
    ids=["production", "host-outside-allowed-hosts"],
)
def test_unsafe_target_is_refused_before_anything_is_injected(
    reference_staging: Any, tmp_path: Path, changes: dict[str, Any], expected: str
) -> None:
    before = faults(reference_staging)
    with pytest.raises(UnsafeTargetError, match=expected) as caught:
        run_experiment(
            _unsafe(reference_staging.profile, **changes),
            "region-outage",
            journal_path=tmp_path / "journal.json",
            tenant=TENANT,
            region="eu-west",
        )
    assert caught.value.exit_code == 3
    assert "\n" not in str(caught.value)
    assert faults(reference_staging) == before
    assert not (tmp_path / "journal.json").exists()


def test_configuration_pointing_outside_allowed_hosts_is_refused(
    reference_staging: Any, tmp_path: Path
) -> None:
    before = faults(reference_staging)
    with pytest.raises(UnsafeTargetError, match=r"host 'prod\.example\.com' is not in"):
        run_experiment(
            reference_staging.profile,
            "latency",
            journal_path=tmp_path / "journal.json",
            tenant=TENANT,
            configuration={"admin_url": "https://prod.example.com"},
        )
    assert faults(reference_staging) == before
