"""`mc-verify report ga-delta`, `report oscal`, `dr schedule`, `dashboards privacy`: the plan
§C artifacts, and the evidence as OSCAL Assessment Results.

Each command writes its files into `-o DIR` and prints one line per file. Exit codes
(DESIGN §9): 0 written and nothing failed; 1 written, but the artifact shows the release
failing (a GA-after fleet fails a gate, an enrolled-tenant gap in the drill schedule); 2 bad
input (bundle, profile, catalog, option); 3 the target cannot be used.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

import click

from pytest_mc.cli.options import catalog_option, public_key_option
from pytest_mc.drivers.control import ControlClient
from pytest_mc.drivers.runner import ToolRunner
from pytest_mc.errors import InputError
from pytest_mc.evidence.redaction import Redactor
from pytest_mc.evidence.signing import TrustedKeys
from pytest_mc.evidence.verify import verify_bundle
from pytest_mc.integration.dr_schedule import (
    DrillRule,
    Weekday,
    build_schedule,
    next_month,
    parse_month,
    read_readiness,
    write_schedule,
)
from pytest_mc.integration.ga_delta import ga_delta_from_file, write_ga_delta
from pytest_mc.integration.ga_delta_models import REPORT_FILE
from pytest_mc.integration.privacy_tiles import write_tiles
from pytest_mc.policy.catalog import QiCatalog, load_catalog
from pytest_mc.policy.verdict import Verdict
from pytest_mc.reporting.oscal import export_bytes
from pytest_mc.settings import DEFAULT_OUT, DEFAULT_RELEASE, LOCAL_TARGET
from pytest_mc.target.loader import load_profile
from pytest_mc.target.local import start_local_staging, stop_local_staging
from pytest_mc.target.profile import TargetProfile

_OUT = click.option(
    "-o",
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory to write the files into (created if missing).",
)


@click.group(name="report")
def report() -> None:
    """Release reports from the evidence: the GA delta report (plan §C), OSCAL results."""


@click.group(name="dr")
def dr() -> None:
    """DR drills: the monthly drill schedule (JSON + iCalendar)."""


@click.group(name="dashboards")
def dashboards() -> None:
    """Grafana dashboards: the privacy tiles for the admin-only folder."""


@report.command(name="ga-delta")
@click.argument("bundle", type=click.Path(path_type=Path, dir_okay=False))
@_OUT
@click.option(
    "--target",
    "profile_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Target profile: its tenants with wave 'ga' were at A/A GA before the expansion.",
)
@click.option(
    "--ga-before",
    "ga_before",
    multiple=True,
    help="A tenant at A/A GA before the expansion (repeat; adds to --target's).",
)
@catalog_option()
@public_key_option()
@click.option(
    "--notes-link",
    default=None,
    help="Relative path the release-notes snippet links the report by (default: beside it).",
)
def ga_delta(
    bundle: Path,
    out_dir: Path,
    profile_path: Path | None,
    ga_before: tuple[str, ...],
    catalog_path: Path | None,
    trusted: TrustedKeys,
    notes_link: str | None,
) -> int:
    """GA delta report of BUNDLE (verified first) and its release-notes snippet."""
    catalog = load_catalog(catalog_path)
    before = list(ga_before)
    if profile_path is not None:
        profile = load_profile(profile_path, catalog)
        before += [tenant.id for tenant in profile.tenants if tenant.wave == "ga"]
    if not before:
        raise InputError(
            "name the tenants at A/A GA before the expansion: --target PROFILE (its wave: ga "
            "tenants) or --ga-before TENANT"
        )
    if notes_link is not None and (Path(notes_link).is_absolute() or "://" in notes_link):
        raise InputError(f"--notes-link {notes_link!r} must be a relative path")
    report = ga_delta_from_file(bundle, catalog, ga_before=before, trusted=trusted)
    report_path, notes_path = write_ga_delta(report, out_dir, link=notes_link or REPORT_FILE)
    click.echo(f"{report_path}: GA {len(report.ga_before)} -> {len(report.ga_after)} tenants")
    click.echo(f"{notes_path}: release-notes snippet ({len(report.open_risks)} open risks)")
    if report.rehearsal:
        click.echo("warning: computed from rehearsal evidence (time_scale != 1)", err=True)
    failing = [qi.qi_id for qi in report.qis if qi.after.verdict == Verdict.FAIL]
    if failing:
        click.echo(f"GA-after fleet fails: {', '.join(failing)}", err=True)
        return 1
    return 0


@report.command(name="oscal")
@click.argument(
    "bundle",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path(DEFAULT_OUT) / f"evidence-{DEFAULT_RELEASE}.json",
)
@click.option(
    "-o",
    "--out",
    "out_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="File to write (default: assessment-results-RELEASE.json beside the bundle).",
)
@catalog_option()
@public_key_option()
def oscal(
    bundle: Path, out_path: Path | None, catalog_path: Path | None, trusted: TrustedKeys
) -> int:
    """BUNDLE (verified first) as NIST OSCAL Assessment Results: one result per run, each DoD
    item and validation gate an observation and a finding (docs/evidence.md)."""
    verified = verify_bundle(bundle, load_catalog(catalog_path), trusted=trusted)
    target = out_path or bundle.with_name(f"assessment-results-{verified.bundle.release}.json")
    content = export_bytes(
        verified.bundle,
        bundle_name=bundle.name,
        bundle_sha256=hashlib.sha256(bundle.read_bytes()).hexdigest(),
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    results = len(verified.bundle.runs)
    click.echo(
        f"{target}: OSCAL assessment results, {results} result(s), "
        f"{len(verified.bundle.dod)} DoD findings"
    )
    if verified.bundle.rehearsal:
        click.echo(
            "warning: rehearsal evidence (time_scale != 1): no DoD item is satisfied", err=True
        )
    return 0


@contextmanager
def _target(target: str, catalog: QiCatalog) -> Iterator[TargetProfile]:
    """The profile at `target`, or a reference staging started for the command."""
    if target != LOCAL_TARGET:
        yield load_profile(Path(target), catalog)
        return
    with tempfile.TemporaryDirectory(prefix="mc-integrate-") as state_dir:
        staging = start_local_staging(Path(state_dir))
        try:
            yield load_profile(staging.profile_path, catalog)
        finally:
            stop_local_staging(staging)


@dr.command(name="schedule")
@click.option(
    "--target",
    required=True,
    help="Target profile YAML, or 'local' to start the reference staging for the command.",
)
@_OUT
@click.option("--start", "start_month", default=None, help="First month, YYYY-MM (default: next).")
@click.option("--months", type=int, default=12, show_default=True)
@click.option(
    "--weekday",
    type=click.Choice(get_args(Weekday)),
    default="TU",
    show_default=True,
)
@click.option("--at", "start_time", default="10:00", show_default=True, help="HH:MM, UTC.")
@click.option("--duration-minutes", type=int, default=120, show_default=True)
@catalog_option()
def dr_schedule(
    target: str,
    out_dir: Path,
    start_month: str | None,
    months: int,
    weekday: Weekday,
    start_time: str,
    duration_minutes: int,
    catalog_path: Path | None,
) -> int:
    """Monthly DR drill schedule (JSON + iCalendar) for every tenant the target enrols."""
    catalog = load_catalog(catalog_path)
    first = parse_month(start_month) if start_month else next_month(datetime.now(UTC).date())
    try:
        rule = DrillRule(
            weekday=weekday, start_time_utc=start_time, duration_minutes=duration_minutes
        )
    except ValueError:
        raise InputError(
            f"--at {start_time!r} / --duration-minutes {duration_minutes}: give HH:MM (UTC) "
            "and 1..720 minutes"
        ) from None
    with _target(target, catalog) as profile:
        control = ControlClient(profile, ToolRunner(Redactor()))
        schedule = build_schedule(
            profile.name,
            read_readiness(control),
            catalog,
            profile=profile,
            first_month=first,
            months=months,
            rule=rule,
        )
    json_path, ics_path = write_schedule(schedule, out_dir)
    drills = sum(len(series.occurrences) for series in schedule.drills)
    click.echo(f"{json_path}: {len(schedule.drills)} tenants, {drills} drills")
    click.echo(f"{ics_path}: iCalendar, {drills} events")
    if schedule.not_enrolled:
        for gap in schedule.not_enrolled:
            click.echo(f"not enrolled: {gap.tenant}: {gap.reason}", err=True)
        return 1
    return 0


@dashboards.command(name="privacy")
@_OUT
@click.option(
    "--dashboards-path",
    default="/var/lib/grafana/dashboards/mc-privacy",
    show_default=True,
    help="Where Grafana reads the dashboard JSON from (written into the provisioning file).",
)
def privacy_tiles(out_dir: Path, dashboards_path: str) -> int:
    """Grafana privacy dashboard, its provisioning file and its admin-only folder intent."""
    for path in write_tiles(out_dir, dashboards_path=dashboards_path):
        click.echo(str(path))
    return 0
