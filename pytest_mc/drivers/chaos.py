"""The chaos driver: runs a Chaos Toolkit experiment in process and always rolls it back.

It validates the experiment (a malformed one is an `InputError`), refuses unsafe targets
before anything is injected, runs chaoslib with rollbacks strategy "always", runs the
rollbacks again (shielded from signals) whenever chaoslib could not finish them, re-probes the
steady state, and writes the redacted journal. Ctrl-C and SIGTERM interrupt the experiment,
never the clean-up: the result is written first, then `ChaosInterrupted` is raised.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from chaoslib import __version__ as chaoslib_version
from chaoslib.activity import execute_activity
from chaoslib.configuration import load_configuration
from chaoslib.exceptions import ChaosException, InterruptExecution
from chaoslib.experiment import ensure_experiment_is_valid
from chaoslib.experiment import run_experiment as chaoslib_run_experiment
from chaoslib.hypothesis import run_steady_state_hypothesis
from chaoslib.run import RunEventHandler
from chaoslib.secret import load_secrets

from pytest_mc.drivers.chaos_models import (
    ChaosActivity,
    ChaosResult,
    ChaosStatus,
    ConfigValue,
    ExperimentInfo,
    Phase,
)
from pytest_mc.drivers.chaos_target import (
    admin_secret,
    check_hosts,
    experiment_path,
    target_configuration,
)
from pytest_mc.errors import InputError
from pytest_mc.evidence.redaction import Redactor
from pytest_mc.target.fence import require_change_allowed
from pytest_mc.target.profile import TargetProfile

__all__ = [
    "ChaosActivity",
    "ChaosInterrupted",
    "ChaosResult",
    "ExperimentInfo",
    "experiment_path",
    "load_experiment_file",
    "run_experiment",
]

SETTINGS: dict[str, Any] = {"runtime": {"rollbacks": {"strategy": "always"}}}
_ROLLBACK_ATTEMPTS = 3
# how often a Ctrl-C/SIGTERM is raised again until chaoslib has seen it
REINTERRUPT_SECONDS = 0.25
_log = logging.getLogger("chaostoolkit")


class ChaosInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped an experiment; rollbacks ran and `result` was written."""

    def __init__(self, result: ChaosResult) -> None:
        super().__init__(f"chaos experiment {result.experiment_title!r} interrupted")
        self.result = result


def load_experiment_file(path: Path) -> ExperimentInfo:
    """Read and validate an experiment; any problem is one `InputError` line naming the file."""
    return _load(path)[0]


def _load(path: Path) -> tuple[ExperimentInfo, dict[str, Any]]:
    def bad(problem: str) -> InputError:
        return InputError(f"chaos experiment {str(path)!r}: {problem}; fix the experiment file")

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise bad("file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise bad(f"unreadable ({exc.__class__.__name__})") from None
    except json.JSONDecodeError as exc:
        raise bad(f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(raw, dict):
        raise bad("the top level must be a JSON object")
    # chaoslib resolves env-backed configuration and secrets while validating; the values
    # arrive only at run time, so validate a copy with placeholders in their place.
    probe = copy.deepcopy(raw)
    configuration = probe.get("configuration")
    if isinstance(configuration, dict):
        for value in configuration.values():
            if isinstance(value, dict) and value.get("type") == "env":
                value.setdefault("default", "0" if value.get("env_var_type") else "")
    if isinstance(probe.get("secrets"), dict):
        probe["secrets"] = {
            scope: dict.fromkeys(entries, "validation-placeholder")
            for scope, entries in probe["secrets"].items()
            if isinstance(entries, dict)
        }
    try:
        ensure_experiment_is_valid(probe)
    except (ChaosException, ValueError, TypeError, AttributeError) as exc:
        raise bad(str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__) from None
    hypothesis = raw.get("steady-state-hypothesis") or {}
    probes = tuple(str(p.get("name")) for p in hypothesis.get("probes", []))
    rollbacks = tuple(str(a.get("name")) for a in raw.get("rollbacks", []))
    if not probes:
        raise bad("no steady-state hypothesis probes (needed to confirm the target recovered)")
    if not rollbacks:
        raise bad("no rollbacks (every experiment must remove what it injects)")
    info = ExperimentInfo(
        path=path,
        title=str(raw["title"]),
        tags=tuple(str(tag) for tag in raw.get("tags", [])),
        configuration_keys=tuple(sorted((raw.get("configuration") or {}).keys())),
        probes=probes,
        actions=tuple(str(a.get("name")) for a in raw.get("method", [])),
        rollbacks=rollbacks,
    )
    return info, raw


@dataclass
class _Run:
    """Mutable state of one run, shared by the signal handlers and the chaoslib events."""

    on_activity: Callable[[ChaosActivity], None] | None
    phase: Phase = "steady-state-before"
    activities: list[ChaosActivity] = field(default_factory=list)
    journal: dict[str, Any] | None = None
    interrupted_by: str | None = None
    timed_out: bool = False
    shielded: bool = False
    acknowledged: bool = False
    callback_error: Exception | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGALRM:
            if self.interrupted_by is not None:
                # A signal that lands while an activity is still running is swallowed by the
                # activity's clean-up, which then sleeps through its `pauses.after`: keep
                # interrupting until chaoslib reports that it saw the interrupt.
                if not self.shielded and not self.acknowledged:
                    raise KeyboardInterrupt(self.interrupted_by)
                return
            self.timed_out = True
            if not self.shielded:
                raise InterruptExecution("the experiment exceeded its timeout")
            return
        self.interrupted_by = self.interrupted_by or signal.Signals(signum).name
        if not self.shielded:
            signal.setitimer(signal.ITIMER_REAL, REINTERRUPT_SECONDS, REINTERRUPT_SECONDS)
            raise KeyboardInterrupt(signal.Signals(signum).name)

    def acknowledge(self) -> None:
        """chaoslib handled the interrupt: stop re-raising it (its rollbacks run next)."""
        if self.interrupted_by is not None and not self.acknowledged:
            self.acknowledged = True
            signal.setitimer(signal.ITIMER_REAL, 0)

    def record(self, activity: Mapping[str, Any], run: Mapping[str, Any], phase: Phase) -> None:
        exception = run.get("exception")
        entry = ChaosActivity(
            name=str(activity.get("name")),
            phase=phase,
            activity_type="probe" if activity.get("type") == "probe" else "action",
            status="succeeded" if run.get("status") == "succeeded" else "failed",
            started_at=datetime.fromisoformat(str(run["start"])),
            ended_at=datetime.fromisoformat(str(run.get("end", run["start"]))),
            duration_seconds=max(0.0, float(run.get("duration", 0.0))),
            error=str(exception[-1]).strip() if exception else None,
        )
        self.activities.append(entry)
        if self.on_activity is not None:
            try:
                self.on_activity(entry)
            except Exception as exc:  # chaoslib would swallow it; re-raised after clean-up
                self.callback_error = self.callback_error or exc


class _Events(RunEventHandler):  # type: ignore[misc]
    def __init__(self, state: _Run) -> None:
        self.state = state

    def started(self, experiment: Any, journal: Any) -> None:
        self.state.journal = journal

    def running(self, *args: Any) -> None:
        # chaoslib installed its own SIGTERM handler; ours treats SIGTERM exactly like Ctrl-C.
        signal.signal(signal.SIGTERM, self.state.handle)

    def signal_exit(self) -> None:
        self.state.acknowledge()

    def interrupted(self, experiment: Any, journal: Any) -> None:
        self.state.acknowledge()

    def start_hypothesis_before(self, experiment: Any) -> None:
        self.state.phase = "steady-state-before"

    def start_method(self, experiment: Any) -> None:
        self.state.phase = "method"

    def start_hypothesis_after(self, experiment: Any) -> None:
        self.state.phase = "steady-state-after"

    def start_rollbacks(self, experiment: Any) -> None:
        self.state.acknowledge()
        self.state.phase = "rollback"

    def activity_completed(self, activity: Any, run: Any) -> None:
        self.state.record(activity, run, self.state.phase)


@contextmanager
def _signals(state: _Run, timeout_seconds: float) -> Iterator[None]:
    names = (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)
    previous = {signum: signal.getsignal(signum) for signum in names}
    for signum in names:
        signal.signal(signum, state.handle)
    signal.setitimer(signal.ITIMER_REAL, timeout_seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class _RedactingFilter(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor.text(record.getMessage())
        record.args = None
        return True


def run_experiment(
    profile: TargetProfile,
    experiment: str | Path,
    *,
    journal_path: Path,
    tenant: str | None = None,
    region: str | None = None,
    configuration: Mapping[str, ConfigValue] | None = None,
    timeout_seconds: float = 300.0,
    restore_timeout_seconds: float = 60.0,
    on_activity: Callable[[ChaosActivity], None] | None = None,
    redactor: Redactor | None = None,
) -> ChaosResult:
    """Run one experiment against `profile` and return what happened; rollbacks always run.

    `on_activity` is called (in this thread) after each probe or action completes, e.g. to
    take a measurement right after a fault is injected. Must run in the main thread: it
    installs SIGINT/SIGTERM/SIGALRM handlers for the duration of the run.
    Raises `InputError` (malformed experiment, bad configuration), `UnsafeTargetError` (before
    anything is injected) and `ChaosInterrupted` (after rollbacks, with the result written)."""
    path = experiment_path(profile, experiment)
    require_change_allowed(profile, what=f"chaos experiment {path.name!r}")
    info, raw = _load(path)
    config_vars = target_configuration(
        profile, info, tenant=tenant, region=region, overrides=configuration or {}
    )
    check_hosts(profile, config_vars)
    if threading.current_thread() is not threading.main_thread():
        raise InputError("chaos experiments run in the main thread (they handle SIGINT/SIGTERM)")
    secret = admin_secret(profile)
    redactor = redactor or Redactor()
    redactor.register(secret)
    secret_vars = {"mc": {"admin_token": secret}}
    state = _Run(on_activity=on_activity)
    started_at, clock = datetime.now(UTC), time.monotonic()
    failure: BaseException | None = None
    log_filter = _RedactingFilter(redactor)
    _log.addFilter(log_filter)
    try:
        with _signals(state, timeout_seconds):
            try:
                chaoslib_run_experiment(
                    copy.deepcopy(raw),
                    settings=copy.deepcopy(SETTINGS),
                    experiment_vars=(dict(config_vars), copy.deepcopy(secret_vars)),
                    event_handlers=[_Events(state)],
                )
            except BaseException as exc:  # interrupted outside chaoslib's own guard, or a bug
                failure = exc
            # From here until the journal is on disk a signal is recorded, never raised
            # (except while waiting for the steady state, which a second Ctrl-C may cut short).
            state.shielded = True
            signal.setitimer(signal.ITIMER_REAL, 0)
            config = load_configuration(raw.get("configuration", {}), dict(config_vars))
            secrets = load_secrets(raw.get("secrets", {}), config, copy.deepcopy(secret_vars))
            retried = _ensure_rollbacks(raw, state, config, secrets)
            restore_clock = time.monotonic()
            restored = _await_steady_state(raw, state, config, secrets, restore_timeout_seconds)
            restore_seconds = time.monotonic() - restore_clock if restored else None
            if isinstance(failure, KeyboardInterrupt) and state.interrupted_by is None:
                state.interrupted_by = "SIGINT"
            journal = state.journal or {"experiment": raw, "status": None, "deviated": False}
            status = _status(state, journal, failure)
            journal["status"] = "interrupted" if status == "timed_out" else status
            digest = _write_journal(journal_path, journal, redactor)
    finally:
        _log.removeFilter(log_filter)
    rollbacks = {a.name: a.status for a in state.activities if a.phase == "rollback"}
    before = (journal.get("steady_states") or {}).get("before")
    result = ChaosResult(
        experiment_title=str(journal.get("experiment", raw).get("title", info.title)),
        experiment_path=path,
        status=status,
        deviated=bool(journal.get("deviated")),
        steady_state_before_met=before.get("steady_state_met") if before else None,
        rolled_back=all(rollbacks.get(name) == "succeeded" for name in info.rollbacks),
        rollback_retried=retried,
        steady_state_restored=restored,
        interrupted=state.interrupted_by is not None,
        interrupted_by=state.interrupted_by,
        timed_out=state.timed_out,
        journal_path=journal_path,
        journal_sha256=digest,
        configuration={key: str(value) for key, value in config_vars.items()},
        activities=tuple(state.activities),
        started_at=started_at,
        ended_at=datetime.now(UTC),
        duration_seconds=time.monotonic() - clock,
        restore_seconds=restore_seconds,
        chaoslib_version=str(chaoslib_version),
    )
    if state.interrupted_by is not None:
        raise ChaosInterrupted(result) from failure
    if state.callback_error is not None:
        raise state.callback_error
    if failure is not None and not isinstance(failure, ChaosException):
        raise failure
    if failure is not None:
        raise InputError(f"chaos experiment {str(path)!r} could not run: {failure}") from None
    return result


def _ensure_rollbacks(
    raw: dict[str, Any], state: _Run, config: dict[str, Any], secrets: dict[str, Any]
) -> bool:
    """Re-run every rollback (shielded from signals) unless chaoslib ran them all successfully.

    Rollbacks remove by kind and scope, so running one twice is harmless."""
    done = {a.name for a in state.activities if a.phase == "rollback" and a.status == "succeeded"}
    declared = raw.get("rollbacks", [])
    if all(activity.get("name") in done for activity in declared):
        return False
    state.phase = "rollback"
    journal_runs: list[dict[str, Any]] = []  # the caller keeps signals shielded here
    for activity in declared:
        for attempt in range(_ROLLBACK_ATTEMPTS):
            run = execute_activity(raw, activity, config, secrets, None, None, journal_runs)
            state.record(activity, run, "rollback")
            if run.get("status") == "succeeded":
                break
            time.sleep(0.5 * (attempt + 1))
    if state.journal is not None:
        state.journal.setdefault("rollbacks", []).extend(journal_runs)
    return True


def _await_steady_state(
    raw: dict[str, Any],
    state: _Run,
    config: dict[str, Any],
    secrets: dict[str, Any],
    timeout_seconds: float,
) -> bool:
    """Re-probe the steady-state hypothesis until it holds again (or the timeout passes)."""
    deadline = time.monotonic() + timeout_seconds
    outcome: dict[str, Any] | None = None
    state.shielded = False
    try:
        while True:
            outcome = run_steady_state_hypothesis(raw, config, secrets, None, None)
            if outcome is None or outcome.get("steady_state_met") or time.monotonic() > deadline:
                break
            time.sleep(0.25)
    except KeyboardInterrupt:
        return False  # a second Ctrl-C gives up waiting; the rollbacks already ran
    finally:
        state.shielded = True
        for run in (outcome or {}).get("probes", []):
            state.record(run["activity"], run, "restore-check")
        if state.journal is not None and outcome is not None:
            state.journal.setdefault("steady_states", {})["restored"] = outcome
    return bool(outcome and outcome.get("steady_state_met"))


def _status(state: _Run, journal: Mapping[str, Any], failure: BaseException | None) -> ChaosStatus:
    if state.timed_out and state.interrupted_by is None:
        return "timed_out"
    if state.interrupted_by is not None or isinstance(failure, KeyboardInterrupt):
        return "interrupted"
    found = journal.get("status")
    if failure is not None:
        return "aborted"
    if found in ("completed", "failed", "aborted", "interrupted"):
        return str(found)  # type: ignore[return-value]
    return "aborted"


def _write_journal(path: Path, journal: Mapping[str, Any], redactor: Redactor) -> str:
    """Write the redacted journal atomically; returns its sha256."""
    text = json.dumps(redactor.json(json.loads(json.dumps(journal, default=str))), indent=2)
    data = text.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)
    return hashlib.sha256(data).hexdigest()
