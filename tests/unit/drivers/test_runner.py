"""The subprocess runner: process-group kill on timeout, missing tools, redaction, records."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from pytest_mc.drivers.runner import ToolRunner
from pytest_mc.errors import ToolMissingError, UnreachableError
from pytest_mc.evidence.redaction import Redactor


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purpose.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def test_success_is_recorded_with_output_digests() -> None:
    done = ToolRunner().run([sys.executable, "-c", "print('hello')"], tool="python", timeout=30)
    assert done.ok
    assert done.stdout == "hello\n"
    assert done.activity.exit_code == 0
    assert done.activity.status == "succeeded"
    assert len(done.activity.stdout_sha256) == 64
    assert done.activity.duration_seconds >= 0


def test_failure_keeps_the_last_error_line() -> None:
    script = (
        "import sys; print('first', file=sys.stderr); "
        "print('boom: bad', file=sys.stderr); sys.exit(4)"
    )
    done = ToolRunner().run([sys.executable, "-c", script], tool="python", timeout=30)
    assert done.activity.status == "failed"
    assert done.activity.exit_code == 4
    assert done.last_error_line() == "boom: bad"


def test_a_tool_silent_on_stderr_is_quoted_from_stdout() -> None:
    script = "print('reading the config'); print('invalid config path ./rc.json'); exit(1)"
    done = ToolRunner().run([sys.executable, "-c", script], tool="python", timeout=30)
    assert done.last_error_line() == "exit code 1: invalid config path ./rc.json"
    silent = ToolRunner().run([sys.executable, "-c", "exit(3)"], tool="python", timeout=30)
    assert silent.last_error_line() == "exit code 3"


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(60)\n"
    )
    done = ToolRunner().run([sys.executable, "-c", script], tool="python", timeout=1.5)
    assert done.activity.status == "timed_out"
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(grandchild), "the tool's child outlived the timeout"


def test_run_checked_turns_a_timeout_into_an_unreachable_error() -> None:
    with pytest.raises(UnreachableError, match=r"python did not finish within 0\.5s"):
        ToolRunner().run_checked(
            [sys.executable, "-c", "import time; time.sleep(30)"], tool="python", timeout=0.5
        )


def test_missing_tool_is_a_one_line_tool_missing_error(tmp_path: Path) -> None:
    with pytest.raises(ToolMissingError, match=r"^k6 not found: '.*no-such-k6'; install it"):
        ToolRunner().run([str(tmp_path / "no-such-k6"), "version"], tool="k6", timeout=5)


def test_secrets_never_leave_the_runner() -> None:
    runner = ToolRunner(Redactor(secrets=("s3cr3t-admin-value",)))
    script = (
        "import sys; print('admin s3cr3t-admin-value'); "
        "print('token=abcdef123456', file=sys.stderr)"
    )
    done = runner.run(
        [sys.executable, "-c", script, "--approval-token", "tok-0123456789"], tool="py", timeout=30
    )
    everything = (
        done.stdout + done.stderr + " ".join(done.activity.argv) + done.activity.stderr_tail
    )
    assert "s3cr3t-admin-value" not in everything
    assert "abcdef123456" not in everything
    assert "tok-0123456789" not in everything
    assert "[REDACTED]" in done.stdout
