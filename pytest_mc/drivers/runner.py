"""The one subprocess runner for every external tool (k6, chaos, the control CLI, allure).

Each tool runs in its own process group with a timeout; on timeout, Ctrl-C or an error the
whole group is stopped (SIGTERM, then SIGKILL after a grace period), so no tool leaves
children behind. Output is captured and redacted, and every run yields an `ActivityRecord`
(start, end, duration, status, exit code, output digests) in the shape of chaostoolkit's
activity record.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pytest_mc.errors import ToolMissingError, UnreachableError
from pytest_mc.evidence.records import ActivityRecord, RunStatus
from pytest_mc.evidence.redaction import Redactor

GRACE_SECONDS = 5.0
_TAIL_CHARS = 2000


@dataclass(frozen=True)
class Completed:
    """A finished tool run: its activity record and its (redacted) output."""

    activity: ActivityRecord
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.activity.status == "succeeded"

    def last_error_line(self) -> str:
        """The tool's last line on stderr; a tool silent there (Allure says why it failed on
        stdout) gives its last stdout line with the exit code."""
        errors = [line for line in self.stderr.strip().splitlines() if line.strip()]
        if errors:
            return errors[-1]
        said = [line for line in self.stdout.strip().splitlines() if line.strip()]
        code = f"exit code {self.activity.exit_code}"
        return f"{code}: {said[-1].strip()}" if said else code


Guard = Callable[[Sequence[str], str], None]
"""Called with (argv, tool) before a process starts; raises to stop it from starting."""


class ToolRunner:
    """Runs external tools with one policy: process groups, timeouts, redaction, and an
    optional guard that sees every command before it starts (the session's runner is guarded
    by the safety fence, so a step that runs a tool through it cannot skip the fence)."""

    def __init__(self, redactor: Redactor | None = None, *, guard: Guard | None = None) -> None:
        self.redactor = redactor or Redactor()
        self._guard = guard

    def run(
        self,
        argv: Sequence[str],
        *,
        tool: str,
        timeout: float,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        stdin: str | None = None,
    ) -> Completed:
        """Run `argv` to completion (or timeout) and return its redacted record."""
        if self._guard is not None:
            self._guard(argv, tool)
        started = datetime.now(UTC)
        clock = time.monotonic()
        try:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                start_new_session=True,
            )
        except FileNotFoundError:
            raise ToolMissingError(
                f"{tool} not found: {argv[0]!r}; install it or configure its path in the profile"
            ) from None
        except PermissionError:
            raise ToolMissingError(f"{tool} at {argv[0]!r} is not executable") from None
        status: RunStatus = "succeeded"
        try:
            stdout, stderr = process.communicate(input=stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            status = "timed_out"
            stdout, stderr = stop_group(process)
        except BaseException:
            # Ctrl-C, SIGTERM turned into an exception, anything: never leave the group behind.
            stop_group(process)
            raise
        if status == "succeeded" and process.returncode != 0:
            status = "failed"
        stdout = self.redactor.text(stdout or "")
        stderr = self.redactor.text(stderr or "")
        activity = ActivityRecord(
            tool=tool,
            argv=self.redactor.argv(argv),
            started_at=started,
            ended_at=datetime.now(UTC),
            duration_seconds=time.monotonic() - clock,
            status=status,
            exit_code=process.returncode,
            stdout_sha256=hashlib.sha256(stdout.encode()).hexdigest(),
            stderr_sha256=hashlib.sha256(stderr.encode()).hexdigest(),
            stderr_tail=stderr[-_TAIL_CHARS:],
        )
        return Completed(activity=activity, stdout=stdout, stderr=stderr)

    def run_checked(
        self,
        argv: Sequence[str],
        *,
        tool: str,
        timeout: float,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Completed:
        """Like `run`, but a timeout is an `UnreachableError` (the tool or target hung)."""
        done = self.run(argv, tool=tool, timeout=timeout, env=env, cwd=cwd)
        if done.activity.status == "timed_out":
            raise UnreachableError(
                f"{tool} did not finish within {timeout:g}s ({' '.join(done.activity.argv[:4])} "
                f"...); the target may be hung"
            )
        return done


def stop_group(process: subprocess.Popen[str], grace: float = GRACE_SECONDS) -> tuple[str, str]:
    """Stop the process group of `process`: SIGTERM, then SIGKILL after `grace` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            stdout, stderr = process.communicate(timeout=grace)
            return stdout or "", stderr or ""
        except subprocess.TimeoutExpired:
            continue
    stdout, stderr = process.communicate()
    return stdout or "", stderr or ""
