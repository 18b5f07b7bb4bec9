"""The autonomy driver: the plan's §B.3 runbook through the target's control CLI.

Inside `over_api(api)` the runbook's four commands (simulate, approve, enact, compensate) go
through the control API instead (`pytest_mc.drivers.control_api`): the same commands, the same
record files written to the same places, the same ledger, without a process per command. The
KPI campaign runs that way; every other scenario drives the CLI verbatim.

`autonomy set | simulate | approve | enact | compensate | status | abort`, each with `--json`,
the records the target writes with `--evidence FILE` parsed into models
(`pytest_mc.drivers.autonomy_models`). Refusals are results, not errors: exit 1 (refused by
policy, or an aborted enactment) and exit 2 (a bad approval token, an op-set unknown) are what
many pilot scenarios expect, so each call returns the exit code and the target's message.
Every command but `status` changes the target and passes the control client's safety fence.

Every enactment the driver starts goes into its ledger (`EnactAttempt`): an operation id the
suite chose, the tenant, a digest of the token it presented and what it observed. The ledger
is the suite's own account of what it started; `reconcile_audit` holds the target's audit log
(`provenance log`, `autonomy.enact` records) to it: exactly one matching record per attempt.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from pytest_mc.drivers.autonomy_models import (
    Approval,
    AuditLogEntry,
    AutonomyStatus,
    CompensationRecord,
    EnactmentRecord,
    SimulationRecord,
    Tier,
)
from pytest_mc.drivers.control import ControlClient, parse_as
from pytest_mc.drivers.control_api import ControlApi
from pytest_mc.errors import InputError, UnreachableError

ModelT = TypeVar("ModelT", bound=BaseModel)

DERIVED_UPDATES = "derived_updates"
DEFAULT_TTL_SECONDS = 300.0
ENACT_ACTION = "autonomy.enact"

AuditOutcome = Literal["succeeded", "aborted", "refused"]


@dataclass(frozen=True)
class Answer:
    """One autonomy command: exit code (0 done, 1 refused/aborted, 2 bad input) and message."""

    command: str
    exit_code: int
    message: str

    @property
    def done(self) -> bool:
        return self.exit_code == 0

    def describe(self) -> str:
        return f"`autonomy {self.command}` exit {self.exit_code}" + (
            f": {self.message}" if self.message else ""
        )


@dataclass(frozen=True)
class Simulation:
    answer: Answer
    record: SimulationRecord | None
    path: Path


@dataclass(frozen=True)
class Enactment:
    answer: Answer
    record: EnactmentRecord | None
    path: Path


@dataclass(frozen=True)
class EnactAttempt:
    """One enactment the suite started, as the suite knows it: the operation id it chose, the
    sha256 of the token it presented (None: no token), the command's exit code and, when the
    target wrote one, the record file's enactment and token ids."""

    op_id: str
    tenant: str
    token_sha256: str | None
    exit_code: int
    enactment_id: str | None
    token_id: str | None
    record_outcome: str | None

    @property
    def outcome(self) -> AuditOutcome:
        """What the audit record must say: the record's outcome, else refused (exit 1 or 2
        without a record); exit 0 claims an applied enactment, record or not."""
        if self.record_outcome == "aborted":
            return "aborted"
        if self.record_outcome == "succeeded" or self.exit_code == 0:
            return "succeeded"
        return "refused"

    def describe(self) -> str:
        what = self.enactment_id or "no enactment record"
        return f"enactment op {self.op_id} on {self.tenant} ({self.outcome}, {what})"


def reconcile_audit(attempts: Sequence[EnactAttempt], log: Sequence[AuditLogEntry]) -> list[str]:
    """Each attempt must have exactly one `autonomy.enact` record with its op id (or its
    enactment id), and that record must name the same tenant, outcome, enactment and token.
    Returns one line per attempt that does not, naming it and what was expected."""
    by_op: dict[object, list[AuditLogEntry]] = {}
    by_enactment: dict[object, list[AuditLogEntry]] = {}
    for entry in log:  # indexed once: a campaign reconciles thousands of attempts in one pass
        if entry.action == ENACT_ACTION:
            by_op.setdefault(entry.details.get("op_id"), []).append(entry)
            by_enactment.setdefault(entry.details.get("enactment_id"), []).append(entry)
    problems: list[str] = []
    for attempt in attempts:
        candidates = by_op.get(attempt.op_id, [])
        if attempt.enactment_id is not None:
            candidates = candidates + by_enactment.get(attempt.enactment_id, [])
        found = list({entry.seq: entry for entry in candidates}.values())
        found.sort(key=lambda entry: entry.seq)
        if len(found) != 1:
            seqs = ", ".join(str(entry.seq) for entry in found)
            problems.append(
                f"{attempt.describe()}: {len(found)} audit records"
                + (f" (seq {seqs})" if found else "")
                + ", expected exactly 1"
            )
            continue
        wrong = _mismatches(attempt, found[0])
        if wrong:
            problems.append(
                f"{attempt.describe()}: audit record seq {found[0].seq} has " + "; ".join(wrong)
            )
    return problems


def _mismatches(attempt: EnactAttempt, entry: AuditLogEntry) -> list[str]:
    details = entry.details
    wrong: list[str] = []
    expected: dict[str, object] = {
        "op_id": attempt.op_id,
        "outcome": attempt.outcome,
        "enactment_id": attempt.enactment_id,
    }
    if attempt.token_id is not None:
        expected["token_id"] = attempt.token_id
    if entry.tenant != attempt.tenant:
        wrong.append(f"tenant {entry.tenant!r}, expected {attempt.tenant!r}")
    for name, value in expected.items():
        if details.get(name) != value:
            wrong.append(f"{name} {details.get(name)!r}, expected {value!r}")
    fingerprint = details.get("token_fingerprint")
    if attempt.token_sha256 is None:
        if fingerprint is not None:
            wrong.append(f"token_fingerprint {fingerprint!r}, expected none (no token given)")
    elif not (isinstance(fingerprint, str) and fingerprint) or not attempt.token_sha256.startswith(
        fingerprint
    ):
        wrong.append(
            f"token_fingerprint {fingerprint!r}, expected a prefix of the presented token's "
            f"sha256 {attempt.token_sha256[:16]}…"
        )
    return wrong


@dataclass(frozen=True)
class Compensation:
    answer: Answer
    record: CompensationRecord | None
    path: Path


class AutonomyDriver:
    """Runs the autonomy runbook of one target; record files go under `work_dir`."""

    def __init__(self, control: ControlClient, work_dir: Path) -> None:
        self.control = control
        self.work_dir = work_dir
        self._serial = itertools.count(1)
        self.ledger: list[EnactAttempt] = []
        self._api: ControlApi | None = None

    @property
    def channel(self) -> str:
        """Which channel the runbook's commands take now."""
        return "control API" if self._api is not None else "control CLI"

    @contextmanager
    def over_api(self, api: ControlApi | None) -> Iterator[None]:
        """Inside the block simulate, approve, enact and compensate go through `api` (the CLI
        when None): the same record files and the same ledger, whichever channel ran them."""
        before, self._api = self._api, api
        try:
            yield
        finally:
            self._api = before

    def _file(self, stem: str) -> Path:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        path = self.work_dir / f"{stem}-{next(self._serial):05d}.json"
        path.unlink(missing_ok=True)
        return path

    def _run(self, command: str, *args: str) -> tuple[Answer, Any]:
        try:
            result = self.control.attempt("autonomy", command, *args)
        except InputError as exc:
            return Answer(command, 2, str(exc)), None
        return Answer(command, result.exit_code, result.message), result.data

    def _runbook(
        self,
        command: str,
        cli_args: Sequence[str],
        api_args: Callable[[], Mapping[str, object]],
        record: Path | None = None,
    ) -> tuple[Answer, Any]:
        """One runbook command through the current channel. Over the API the arguments are
        built only then (they read the record files the CLI is given by path) and the result
        is written to `record`, as the CLI's `--evidence FILE` (among `cli_args`) writes it."""
        if self._api is None:
            return self._run(command, *cli_args)
        try:
            done = self._api.attempt("autonomy", command, args=api_args())
        except InputError as exc:
            return Answer(command, 2, str(exc)), None
        if record is not None and done.result is not None:
            record.write_text(json.dumps(done.result, indent=2, sort_keys=True) + "\n")
        return Answer(command, done.exit_code, done.message), done.result

    # -- configuration -----------------------------------------------------------------------

    def set(
        self,
        tenant: str,
        tier: Tier,
        *,
        scope: str | None = None,
        require_hitl: bool | None = None,
    ) -> tuple[Answer, AutonomyStatus | None]:
        args = ["--tenant", tenant, "--tier", tier]
        if scope is not None:
            args += ["--scope", scope]
        if require_hitl is not None:
            args += ["--require-hitl", "true" if require_hitl else "false"]
        answer, data = self._run("set", *args)
        return answer, _parsed(AutonomyStatus, data, "autonomy set") if answer.done else None

    def status(self, tenant: str) -> AutonomyStatus:
        answer, data = self._run("status", "--tenant", tenant)
        if not answer.done:
            raise UnreachableError(f"{answer.describe()}; a status read must not be refused")
        return _parsed(AutonomyStatus, data, "autonomy status")

    def abort(self, tenant: str, reason: str) -> tuple[Answer, AutonomyStatus | None]:
        answer, data = self._run("abort", "--tenant", tenant, "--reason", reason)
        return answer, _parsed(AutonomyStatus, data, "autonomy abort") if answer.done else None

    # -- the runbook -----------------------------------------------------------------------

    def simulate(self, tenant: str, op_set: str = DERIVED_UPDATES) -> Simulation:
        path = self._file("sim")
        answer, _data = self._runbook(
            "simulate",
            ("--tenant", tenant, "--op-set", op_set, "--evidence", str(path)),
            lambda: {"tenant": tenant, "op_set": op_set},
            path,
        )
        record = _read(SimulationRecord, path, "autonomy simulate") if answer.done else None
        if answer.done and record is None:
            raise UnreachableError(
                f"`autonomy simulate` succeeded but wrote no record to {path}; the target "
                "breaks the contract's --evidence rule"
            )
        return Simulation(answer, record, path)

    def approve(
        self, simulation: Simulation, *, ttl_seconds: float = DEFAULT_TTL_SECONDS
    ) -> tuple[Answer, Approval | None]:
        """Mint the HITL token. Run without `--json`, which prints the bare token: a JSON
        `"token": ...` field is credential-shaped and the runner redacts it from the output."""
        record = simulation.record
        if record is None:
            raise InputError("approve needs a simulation record; the simulation was refused")
        requested = time.time()
        if self._api is not None:
            token = self._approve_over_api(simulation, record.tenant, ttl_seconds)
        else:
            token = self._approve_over_cli(simulation, record.tenant, ttl_seconds)
        if isinstance(token, Answer):
            return token, None
        approval = Approval(
            token=token,
            tenant=record.tenant,
            simulation_id=record.simulation_id,
            expires_at=requested + ttl_seconds,
        )
        return Answer("approve", 0, ""), approval

    def _approve_over_cli(
        self, simulation: Simulation, tenant: str, ttl_seconds: float
    ) -> str | Answer:
        """The token the control CLI printed, or the refusal (as an Answer)."""
        done = self.control.run(
            "autonomy",
            "approve",
            "--tenant",
            tenant,
            "--from-sim",
            str(simulation.path),
            "--ttl-seconds",
            f"{ttl_seconds:g}",
            json_output=False,
        )
        code = done.activity.exit_code if done.activity.exit_code is not None else -1
        if code == 3 or code not in (0, 1, 2):
            raise UnreachableError(f"`autonomy approve` failed: {done.last_error_line()}")
        if code:
            return Answer("approve", code, done.last_error_line())
        token = done.stdout.strip()
        if not token or any(c.isspace() for c in token):
            raise UnreachableError(
                f"`autonomy approve` printed {token[:20]!r}…, not one token; the target breaks "
                "the contract (the token on stdout)"
            )
        return token

    def _approve_over_api(
        self, simulation: Simulation, tenant: str, ttl_seconds: float
    ) -> str | Answer:
        """The token the control API minted, or the refusal (as an Answer)."""
        answer, data = self._runbook(
            "approve",
            (),
            lambda: {
                "tenant": tenant,
                "simulation": _record_object(simulation.path),
                "ttl_seconds": ttl_seconds,
            },
        )
        if not answer.done:
            return answer
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token or any(c.isspace() for c in token):
            raise UnreachableError(
                "`autonomy.approve` over the control API answered no token; the target breaks "
                "the contract (the result's token)"
            )
        return token

    def enact(self, tenant: str, token: str | None, simulation: Path) -> Enactment:
        """Enact under an operation id of the suite's own. The attempt enters the ledger before
        the command runs (a command that dies still started an enactment) and is completed
        with what the suite observed."""
        path = self._file("enact")
        op_id = f"suite-enact-{uuid.uuid4().hex}"
        presented = None if token is None else sha256(token.encode()).hexdigest()
        started = EnactAttempt(op_id, tenant, presented, -1, None, None, None)
        index = len(self.ledger)
        self.ledger.append(started)
        args = ["--tenant", tenant, "--from-sim", str(simulation), "--evidence", str(path)]
        args += ["--op-id", op_id]
        if token is not None:
            args += ["--approval-token", token]
        answer, data = self._runbook(
            "enact",
            args,
            lambda: {
                "tenant": tenant,
                "approval_token": token,
                "simulation": _record_object(simulation),
                "op_id": op_id,
                "operation_id": op_id,
            },
            path,
        )
        if self._api is not None and answer.done and isinstance(data, dict):
            outcome = data.get("outcome")
            if outcome != "succeeded":  # the CLI exits 1 for an aborted enactment
                answer = Answer("enact", 1, f"enactment {outcome} ({data.get('abort_reason')})")
        # the record is written for every enactment, aborted ones included (exit 1)
        record = _read(EnactmentRecord, path, "autonomy enact")
        self.ledger[index] = EnactAttempt(
            op_id=op_id,
            tenant=tenant,
            token_sha256=presented,
            exit_code=answer.exit_code,
            enactment_id=record.enactment_id if record else None,
            token_id=record.approval.token_id if record and record.approval else None,
            record_outcome=record.outcome if record else None,
        )
        return Enactment(answer, record, path)

    def compensate(self, tenant: str, enactment: Path) -> Compensation:
        path = self._file("compensation")
        answer, _data = self._runbook(
            "compensate",
            ("--tenant", tenant, "--from-evidence", str(enactment), "--evidence", str(path)),
            lambda: {"tenant": tenant, "enactment": _record_object(enactment)},
            path,
        )
        record = _read(CompensationRecord, path, "autonomy compensate") if answer.done else None
        return Compensation(answer, record, path)


def _record_object(path: Path) -> object:
    """A record file the previous runbook step wrote, sent inline over the control API."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"record file {path} unreadable as JSON ({exc})") from None


def _parsed(model: type[ModelT], data: Any, what: str) -> ModelT:
    return parse_as(model, data, what=what)


def _read(model: type[ModelT], path: Path, what: str) -> ModelT | None:
    if not path.is_file():
        return None
    try:
        return model.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UnreachableError(
            f"the record `{what}` wrote to {path} breaks the target contract: {where}: "
            f"{first['msg']}"
        ) from None
