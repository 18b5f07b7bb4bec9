"""The control CLI driver: runs the profile's control command and parses its `--json`.

`mc ...` on a real staging, `mc-staging --state-dir DIR ...` on the reference. The target's
exit codes (docs/target-contract.md §2) map onto ours: 0 done, 1 refused by policy (returned,
not raised, since refusals are often what a scenario expects), 2 the suite sent bad input
(`InputError`), 3 the target is down (`UnreachableError`).

Every command passes the safety fence here, the one door to the control CLI: a command on the
contract's list of reads (`READ_COMMANDS`) runs against any target; every other command,
including one the list has never heard of, is a change and runs only inside the fence.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from pytest_mc.drivers.control_models import (
    BudgetSet,
    DpoPages,
    DrRecord,
    DrStatus,
    ProvenanceLog,
    ReadinessRecord,
    ReplayResult,
    TenantStatus,
    TripwireEvents,
)
from pytest_mc.drivers.runner import Completed, ToolRunner
from pytest_mc.errors import InputError, McError, UnreachableError
from pytest_mc.evidence.records import ActivityRecord
from pytest_mc.target.fence import require_change_allowed
from pytest_mc.target.profile import TargetProfile

ModelT = TypeVar("ModelT", bound=BaseModel)

# The control commands that only read (docs/target-contract.md §2, "Read commands"; a test
# keeps the two equal). Deny by default: anything else changes the target.
READ_COMMANDS: frozenset[tuple[str, ...]] = frozenset(
    {
        ("status",),
        ("tenant", "status"),
        ("tenant", "list"),
        ("rollout", "status"),
        ("glb", "status"),
        ("flags", "show"),
        ("dr", "status"),
        ("provenance", "log"),
        ("dpo", "pages"),
        ("readiness", "show"),
        ("readiness", "verify"),
        ("slo", "status"),
        ("tripwires", "status"),
        ("tripwires", "events"),
        ("autonomy", "status"),
        ("faults", "list"),
    }
)


def command_words(args: Sequence[str]) -> tuple[str, ...]:
    """The words naming a command, up to its first option: `glb bias --tenant T` → glb bias."""
    words: list[str] = []
    for arg in args:
        if arg.startswith("-"):
            break
        words.append(arg)
    return tuple(words)


def is_read_command(args: Sequence[str]) -> bool:
    """Whether the command is one of the contract's reads (exactly: extra words make a change)."""
    return command_words(args) in READ_COMMANDS


_INTROSPECTION: frozenset[tuple[str, ...]] = frozenset({("version",), ("--version",)})


def fence_guard(profile: TargetProfile) -> Callable[[Sequence[str], str], None]:
    """The guard of a runner bound to `profile`: every process it starts passes the fence.

    Against a target outside the fence only the control CLI's reads and a tool's version
    query run; anything else (a control change, k6, chaos, a tool the suite has never heard
    of) raises `UnsafeTargetError` before it starts. Inside the fence everything runs."""
    control = tuple(profile.control.command)

    def guard(argv: Sequence[str], tool: str) -> None:
        args = tuple(argv)
        if args[: len(control)] == control:
            rest = args[len(control) :]
            if not is_read_command(rest):
                name = " ".join(command_words(rest)) or " ".join(rest[:2])
                require_change_allowed(profile, what=f"control command {name!r}")
        elif args[1:] not in _INTROSPECTION:
            require_change_allowed(profile, what=f"{tool} ({' '.join(args[:2])})")

    return guard


class ControlRefused(McError):
    """The target refused a command by policy (its exit code 1)."""

    exit_code = 1


@dataclass(frozen=True)
class ControlResult:
    """One control command: exit code, parsed JSON (when it printed any), last error line."""

    argv: tuple[str, ...]
    exit_code: int
    data: Any
    message: str
    activity: ActivityRecord

    @property
    def refused(self) -> bool:
        return self.exit_code == 1


class ControlClient:
    """Typed access to the target's control CLI."""

    def __init__(self, profile: TargetProfile, runner: ToolRunner) -> None:
        self.profile = profile
        self._runner = runner  # private: every command goes through `run`, behind the fence

    def run(self, *args: str, json_output: bool = True) -> Completed:
        """Run one control command as it is, behind the fence; the caller reads its exit code.

        A command that is not a read raises `UnsafeTargetError` before anything runs when the
        profile is not a staging inside its allowed_hosts."""
        if not is_read_command(args):
            name = " ".join(command_words(args)) or " ".join(args[:2])
            require_change_allowed(self.profile, what=f"control command {name!r}")
        argv = (*self.profile.control.command, *args, *(("--json",) if json_output else ()))
        return self._runner.run_checked(
            argv, tool="control CLI", timeout=self.profile.control.timeout_seconds
        )

    def attempt(self, *args: str) -> ControlResult:
        """Run a command with `--json`; returns refusals, raises on bad input or a dead target."""
        done = self.run(*args)
        code = done.activity.exit_code if done.activity.exit_code is not None else -1
        message = done.last_error_line() if code else ""
        if code == 2:
            raise InputError(f"control CLI refused the input ({' '.join(args[:3])}): {message}")
        if code == 3:
            raise UnreachableError(f"target unreachable through the control CLI: {message}")
        if code not in (0, 1):
            raise UnreachableError(
                f"control CLI failed with exit code {code} ({' '.join(args[:3])}): {message}"
            )
        data: Any = None
        if code == 0:
            try:
                data = json.loads(done.stdout)
            except ValueError:
                raise UnreachableError(
                    f"control CLI printed no JSON for {' '.join(args[:3])} (got "
                    f"{done.stdout[:120]!r}); the target breaks the contract's --json rule"
                ) from None
        return ControlResult(
            argv=done.activity.argv,
            exit_code=code,
            data=data,
            message=message,
            activity=done.activity,
        )

    def call(self, *args: str) -> Any:
        """Run a command that must succeed; a refusal raises `ControlRefused`."""
        result = self.attempt(*args)
        if result.refused:
            raise ControlRefused(f"target refused {' '.join(args[:3])}: {result.message}")
        return result.data

    def parsed(self, model: type[ModelT], *args: str) -> ModelT:
        return parse_as(model, self.call(*args), what=" ".join(args[:2]))

    # -- the commands the step library uses -------------------------------------------------

    def tenant_status(self, tenant: str) -> TenantStatus:
        return self.parsed(TenantStatus, "tenant", "status", "--tenant", tenant)

    def tripwire_events(self, tenant: str | None = None) -> TripwireEvents:
        return self.parsed(TripwireEvents, "tripwires", "events", *_tenant(tenant))

    def dpo_pages(self, tenant: str | None = None) -> DpoPages:
        return self.parsed(DpoPages, "dpo", "pages", *_tenant(tenant))

    def provenance(self, tenant: str | None = None, *, limit: int | None = None) -> ProvenanceLog:
        extra = ("--limit", str(limit)) if limit is not None else ()
        return self.parsed(ProvenanceLog, "provenance", "log", *_tenant(tenant), *extra)

    def replay_ops(self, tenant: str) -> ReplayResult:
        return self.parsed(ReplayResult, "ops", "replay", "--tenant", tenant)

    def failover(self, tenant: str, to_region: str | None = None) -> DrRecord:
        extra = ("--to", to_region) if to_region else ()
        return self.parsed(DrRecord, "dr", "failover", "--tenant", tenant, *extra)

    def failback(self, tenant: str) -> DrRecord:
        return self.parsed(DrRecord, "dr", "failback", "--tenant", tenant)

    def dr_status(self, tenant: str) -> DrStatus:
        return self.parsed(DrStatus, "dr", "status", "--tenant", tenant)

    def readiness(self, tenant: str) -> ReadinessRecord:
        """The tenant's plan §A.1 record (`readiness show --tenant T`)."""
        data = self.call("readiness", "show", "--tenant", tenant)
        if not isinstance(data, dict) or tenant not in data:
            raise UnreachableError(
                f"control CLI output of 'readiness show' has no record for {tenant!r}; the "
                "target breaks the contract ({tenant: record})"
            )
        return parse_as(ReadinessRecord, data[tenant], what="readiness show")

    def set_query_budget(self, tenant: str, units_per_second: float) -> BudgetSet:
        return self.parsed(
            BudgetSet,
            "readiness",
            "set-budget",
            "--tenant",
            tenant,
            "--units-per-second",
            f"{units_per_second:g}",
        )

    def glb_bias(self, tenant: str, region: str, *, weight: int = 100) -> TenantStatus:
        return self.parsed(
            TenantStatus,
            "glb",
            "bias",
            "--tenant",
            tenant,
            "--region",
            region,
            "--weight",
            str(weight),
        )

    def glb_unbias(self, tenant: str) -> TenantStatus:
        return self.parsed(TenantStatus, "glb", "unbias", "--tenant", tenant)

    def set_flag(self, tenant: str, flag: str, value: bool) -> TenantStatus:
        """`flags set --flag ttl-autotune|persisted-only --value true|false`."""
        return self.parsed(
            TenantStatus,
            "flags",
            "set",
            "--tenant",
            tenant,
            "--flag",
            flag,
            "--value",
            "true" if value else "false",
        )


def parse_as(model: type[ModelT], data: Any, *, what: str) -> ModelT:
    """Validate target output against a contract shape; a mismatch is the target's fault."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UnreachableError(
            f"control CLI output of {what!r} breaks the target contract: {where}: {first['msg']}"
        ) from None


def _tenant(tenant: str | None) -> Sequence[str]:
    return ("--tenant", tenant) if tenant else ()
