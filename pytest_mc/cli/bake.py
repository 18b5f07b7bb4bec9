"""`mc-verify bake`: CI's long staging bake of one tenant, with a rich progress display.

Exit codes (DESIGN §9): 0 every gate and day green; 1 a gate, a day or a tripwire failed,
or the evidence is too thin to show a gate green (inconclusive is never a pass); 2 bad usage
or input (including a chain that cannot be resumed); 3 the target or a tool failed, or the
bake was stopped (SIGTERM/SIGINT) before it could be judged — unless something had already
failed, which makes it 1: the release failed, whatever the remaining slices would show.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn

from pytest_mc.bake.plan import make_plan
from pytest_mc.bake.runner import BakeRequest, BakeResult, LiveGate, run_bake
from pytest_mc.cli.options import catalog_option
from pytest_mc.drivers.target_check import require_target_contract
from pytest_mc.errors import InputError
from pytest_mc.evidence.records import BakeCheckpoint, BakePlanInfo, DayVerdict
from pytest_mc.evidence.signing import load_signing_key
from pytest_mc.evidence.streak import GreenStreak
from pytest_mc.policy.catalog import load_catalog
from pytest_mc.policy.timewindow import DAY_PLAN_SECONDS, format_duration, parse_duration
from pytest_mc.reporting.target_check_table import print_target_check
from pytest_mc.settings import DEFAULT_OUT, DEFAULT_RELEASE, LOCAL_TARGET
from pytest_mc.target.loader import load_profile
from pytest_mc.target.local import LocalStaging, start_local_staging, stop_local_staging


class RichProgress:
    """The bake's progress as a rich bar plus one line per slice and per day."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[plan]}"),
            TextColumn("{task.fields[gates]}"),
            console=console,
            transient=False,
        )
        self.task: TaskID | None = None
        self.plan: BakePlanInfo | None = None
        self.began = time.monotonic()

    def started(self, bake_id: str, plan: BakePlanInfo, first_slice: int, resumed: bool) -> None:
        self.plan = plan
        verb = "resuming" if resumed else "starting"
        label = " [yellow]REHEARSAL[/]" if plan.rehearsal else ""
        self.console.print(
            f"{verb} bake {bake_id}{label}: {format_duration(plan.duration_plan_seconds)} of plan "
            f"time in {plan.slices} slices of {format_duration(plan.slice_plan_seconds)}, "
            f"{plan.days} day(s) of {format_duration(plan.day_plan_seconds)}, time_scale "
            f"{plan.time_scale:g} ({plan.duration_plan_seconds / plan.time_scale:g}s wall)"
            + (f", from slice {first_slice}" if first_slice else "")
        )
        self.bar.start()
        self.task = self.bar.add_task(
            "bake", total=plan.slices, completed=first_slice, plan="", gates=""
        )

    def slice_started(self, index: int, wall_seconds: float) -> None:
        if self.task is None or self.plan is None:
            return
        done = index * self.plan.slice_plan_seconds
        left = self.plan.duration_plan_seconds - done
        self.bar.update(
            self.task,
            description=f"slice {index + 1}/{self.plan.slices}",
            plan=f"plan {format_duration(done)} done, {format_duration(left)} to go",
        )

    def slice_done(self, checkpoint: BakeCheckpoint, gates: tuple[LiveGate, ...]) -> None:
        shown = "  ".join(f"{g.qi_id} {g.shown} [{_colour(g.verdict.value)}]" for g in gates)
        if self.task is not None:
            self.bar.update(self.task, completed=checkpoint.slice_index + 1, gates="")
        mark = "[green]ok[/]" if checkpoint.green else "[red]FAILED[/]"
        self.bar.console.print(f"slice {checkpoint.slice_index} {mark}  {shown}")

    def day_done(self, day: DayVerdict, streak: GreenStreak) -> None:
        colour = "green" if day.green else "red"
        cats = ", ".join(
            f"{c.category} {c.verdict.value}" for c in (day.slo, day.cost, day.privacy)
        )
        rehearsal = " (rehearsal)" if day.rehearsal else ""
        self.bar.console.print(
            f"[{colour}]day {day.day_index} {'GREEN' if day.green else 'RED'}[/]{rehearsal}: "
            f"{cats}; streak {streak.current_days} day(s)"
        )

    def note(self, text: str) -> None:
        self.bar.console.print(text)

    def close(self) -> None:
        self.bar.stop()


def _colour(verdict: str) -> str:
    return {"pass": "green]pass[/green", "fail": "red]fail[/red"}.get(
        verdict, "yellow]inconclusive[/yellow"
    )


def _chaos(values: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
    schedule: list[tuple[int, str]] = []
    for value in values:
        index, _, name = value.partition(":")
        if not index.isdigit() or not name:
            raise InputError(f"--chaos {value!r}: write SLICE:EXPERIMENT, e.g. --chaos 3:latency")
        schedule.append((int(index), name))
    return tuple(schedule)


@click.command()
@click.option("--tenant", required=True, help="The tenant to bake, e.g. TENANT_004.")
@click.option(
    "--target",
    default=LOCAL_TARGET,
    show_default=True,
    help="Target profile YAML, or 'local' to start the reference staging for the bake.",
)
@click.option(
    "--out", type=click.Path(path_type=Path), default=Path(DEFAULT_OUT), show_default=True
)
@click.option("--release", default=DEFAULT_RELEASE, show_default=True)
@click.option(
    "--duration", default=None, help="Plan time to bake (default: stage_bake of the catalog)."
)
@click.option("--days", type=int, default=None, help="Bake N whole days (duration = N days).")
@click.option(
    "--day-length",
    default="24h",
    show_default=True,
    help="Plan time judged as one day; shorter than 24h is a compressed rehearsal day.",
)
@click.option("--slice", "slice_length", default=None, help="Slice length (default 1h).")
@click.option("--resume", is_flag=True, help="Continue the tenant's last unfinished bake.")
@catalog_option()
@click.option("--signing-key", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.option(
    "--chaos",
    "chaos",
    multiple=True,
    help="Run a chaos experiment at a slice: SLICE:EXPERIMENT (repeatable).",
)
@click.option(
    "--target-check/--no-target-check",
    default=True,
    show_default=True,
    help="Check the whole target contract before the bake (mc-verify target check).",
)
def bake(
    tenant: str,
    target: str,
    out: Path,
    release: str,
    duration: str | None,
    days: int | None,
    day_length: str,
    slice_length: str | None,
    resume: bool,
    catalog_path: Path | None,
    signing_key: Path | None,
    chaos: tuple[str, ...],
    target_check: bool,
) -> int:
    """Bake TENANT under k6 load for the plan's 24h, judging gates per slice and days.

    Evidence is appended to OUT's chain as it happens and the signed bundle is written at
    the end (also after SIGTERM/SIGINT). `--resume` continues after the last completed slice.
    """
    loaded_catalog = load_catalog(catalog_path)
    load_signing_key(signing_key)
    schedule = _chaos(chaos)
    local: LocalStaging | None = None
    state_dir: Path | None = None
    console = Console(soft_wrap=True)
    try:
        if target == LOCAL_TARGET:
            state_dir = Path(tempfile.mkdtemp(prefix="mc-bake-staging-"))
            local = start_local_staging(state_dir)
            profile_path = local.profile_path
        else:
            profile_path = Path(target)
        profile = load_profile(profile_path, loaded_catalog)
        if target_check:  # a missing capability is found now, not at hour 20 of the bake
            require_target_contract(profile, print_target_check)
        plan = None
        if resume:
            if duration or days or slice_length or day_length != "24h":
                raise InputError(
                    "--resume continues the plan the bake started with; drop --duration, "
                    "--days, --day-length and --slice"
                )
        else:
            plan = make_plan(
                loaded_catalog,
                time_scale=profile.time_scale,
                sample_interval_seconds=profile.metrics.sample_interval_seconds,
                duration_plan_seconds=parse_duration(duration) if duration else None,
                days=days,
                day_plan_seconds=parse_duration(day_length) if day_length else DAY_PLAN_SECONDS,
                slice_plan_seconds=parse_duration(slice_length) if slice_length else None,
            )
        request = BakeRequest(
            tenant=tenant,
            out_dir=out,
            release=release,
            plan=plan,
            resume=resume,
            signing_key=signing_key,
            chaos=schedule,
            argv=tuple(sys.argv[1:]),
        )
        progress = RichProgress(console)
        try:
            result = run_bake(profile, loaded_catalog, request, progress)
        finally:
            progress.close()
    finally:
        if local is not None:
            stop_local_staging(local)
        if state_dir is not None:
            shutil.rmtree(state_dir, ignore_errors=True)
    _report(console, result)
    return result.exit_code


def _report(console: Console, result: BakeResult) -> None:
    streak = result.streak
    if streak is not None:
        label = " (rehearsal: cannot satisfy the GA DoD)" if streak.rehearsal else ""
        console.print(
            f"green streak of the tenant: {streak.note or f'{streak.current_days} day(s)'}{label}"
            + (f"; last reset: {streak.broken_by}" if streak.broken_by else "")
        )
    rehearsal = " REHEARSAL" if result.rehearsal else ""
    console.print(f"evidence: {result.bundle_path}{rehearsal}")
    console.print(
        f"bake {result.bake_id}: {result.outcome} after {result.slices_done}/{result.slices} "
        f"slices, {result.days_green}/{result.days_judged} day(s) green: {result.detail}"[:1000]
    )
    console.print(f"mc-verify bake: exit {result.exit_code}")
