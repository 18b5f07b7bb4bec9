"""`mc-verify run`: rehearse the plan's features against a target (the embedded default).

Inputs are checked before pytest starts, so a bad profile or catalog is exit 2 and an
unusable target exit 3; pytest's own outcome is then mapped onto DESIGN §9's exit codes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click
import pytest

from pytest_mc.cli.dod import DECISION_MARKDOWN, decide_from_bundle
from pytest_mc.cli.options import catalog_option
from pytest_mc.errors import McError
from pytest_mc.evidence.bundle import read_bundle
from pytest_mc.evidence.recorder import EvidencePaths
from pytest_mc.evidence.signing import TrustedKeys, load_signing_key, load_trusted_keys
from pytest_mc.outcomes import MAPPED_EXIT_KEY
from pytest_mc.paths import project_dir
from pytest_mc.policy.catalog import load_catalog
from pytest_mc.reporting.allure_html import RESULTS_DIRECTORY, report_after_run
from pytest_mc.reporting.summary import print_summary
from pytest_mc.session import SIGNED_WITH_KEY
from pytest_mc.settings import DEFAULT_OUT, DEFAULT_RELEASE, LOCAL_TARGET
from pytest_mc.target.fence import require_change_allowed
from pytest_mc.target.loader import load_profile

# pytest exit status → mc-verify exit code. Interrupted runs, collection errors, internal
# errors and "no tests ran" mean the suite could not judge the release: exit 3, not a verdict.
_EXIT_CODES = {
    pytest.ExitCode.OK: 0,
    pytest.ExitCode.TESTS_FAILED: 1,
    pytest.ExitCode.INTERRUPTED: 3,
    pytest.ExitCode.INTERNAL_ERROR: 3,
    pytest.ExitCode.USAGE_ERROR: 2,
    pytest.ExitCode.NO_TESTS_COLLECTED: 3,
}

REHEARSAL_WORK = "the plan rehearsal (it injects faults, runs chaos experiments and DR drills)"


@click.command()
@click.option(
    "--target",
    default=LOCAL_TARGET,
    show_default=True,
    help="Target profile YAML, or 'local' to start the reference staging.",
)
@click.option(
    "--out", type=click.Path(path_type=Path), default=Path(DEFAULT_OUT), show_default=True
)
@click.option("--release", default=DEFAULT_RELEASE, show_default=True)
@catalog_option()
@click.option("--signing-key", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.option(
    "-k", "keyword", default=None, help="Only scenarios matching this pytest -k expression."
)
@click.option(
    "--plan",
    "plan_sections",
    default=None,
    metavar="SECTIONS",
    help="Only these plan sections, comma-separated, e.g. 'A' (all of §A) or 'A.1,A.3'.",
)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def run(
    target: str,
    out: Path,
    release: str,
    catalog_path: Path | None,
    signing_key: Path | None,
    keyword: str | None,
    plan_sections: str | None,
    pytest_args: tuple[str, ...],
) -> int:
    """Run every feature of the plan against TARGET and write the signed evidence bundle.

    Extra arguments after `--` go to pytest unchanged.
    """
    loaded_catalog = load_catalog(catalog_path)
    if target != LOCAL_TARGET:
        profile = load_profile(Path(target), loaded_catalog)
        require_change_allowed(profile, what=REHEARSAL_WORK)
    load_signing_key(signing_key)
    features = project_dir("features")
    paths = EvidencePaths(out, release)
    # the report is a view of this run: an earlier run's results are kept beside, not mixed in
    set_results_aside(out / RESULTS_DIRECTORY)
    argv = [
        str(features),
        f"--rootdir={features.parent}",
        "--mc-target",
        target,
        "--mc-out",
        str(out),
        "--mc-release",
        release,
        # the whole contract checked before the first scenario (docs/target-contract.md)
        "--mc-target-check",
        "yes",
        "--alluredir",
        str(out / RESULTS_DIRECTORY),
        # CI's own formats; the session digests both into the bundle
        f"--junitxml={paths.junit}",
        "-o",
        "junit_family=xunit1",  # the family that keeps each testcase's properties
        "-o",
        f"junit_suite_name=pytest-mc {release}",
        f"--cucumber-json={paths.cucumber}",
    ]
    if catalog_path is not None:
        argv += ["--mc-catalog", str(catalog_path)]
    if signing_key is not None:
        argv += ["--mc-signing-key", str(signing_key)]
    if keyword:
        argv += ["-k", keyword]
    if plan_sections:
        argv += ["--mc-plan", plan_sections]
    capture = _MappedExit()
    status = int(pytest.main([*argv, *pytest_args], plugins=[capture]))
    if capture.code is not None:
        code = capture.code
    else:
        try:
            code = _EXIT_CODES[pytest.ExitCode(status)]
        except ValueError:  # not one of pytest's statuses: the suite broke
            code = 3
    bundle_path = out / f"evidence-{release}.json"
    if bundle_path.is_file():
        print_summary(read_bundle(bundle_path))
        click.echo(f"evidence: {bundle_path}  allure results: {out / RESULTS_DIRECTORY}")
        _week5_decision(bundle_path, out, signed_with=capture.signed_with)
    code = report_after_run(out, release, code, echo=click.echo)
    click.echo(f"mc-verify run: exit {code} ({_MEANING[code]})")
    return code


def set_results_aside(results: Path) -> Path | None:
    """Move an earlier run's Allure results to `<name>.previous` (replacing an older one), so
    this run's report shows this run only; returns where they went, or None."""
    if not results.exists():
        return None
    previous = results.with_name(f"{results.name}.previous")
    if previous.exists():
        shutil.rmtree(previous)
    results.rename(previous)
    return previous


def _week5_decision(bundle_path: Path, out: Path, *, signed_with: bytes | None) -> None:
    """End of the timeline: the week-5 decision (expand the pilot or hold) from the bundle.

    The bundle must be signed by the key this run just signed it with (handed over
    in-process, so an ephemeral key counts too); when this run wrote no bundle, by a key of
    the caller's `$MC_TRUSTED_KEYS`. The signature is verified either way.
    """
    try:
        trusted = TrustedKeys.of([signed_with]) if signed_with is not None else load_trusted_keys()
        report = decide_from_bundle(bundle_path, out, trusted=trusted)
    except McError as exc:
        click.echo(f"week-5 decision: not made: {exc}")
        return
    click.echo(
        f"week-5 decision: {report.decision} ({len(report.reasons)} reasons): "
        f"{out / DECISION_MARKDOWN}"
    )


class _MappedExit:
    """Reads the exit code pytest-mc's outcome classifier chose, if it chose one, and the
    public key the session signed its bundle with, if it wrote one."""

    def __init__(self) -> None:
        self.code: int | None = None
        self.signed_with: bytes | None = None

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.code = config.stash.get(MAPPED_EXIT_KEY, None)
        self.signed_with = config.stash.get(SIGNED_WITH_KEY, None)


_MEANING = {
    0: "every scenario passed; the DoD table says which items that satisfies",
    1: "the release failed a gate or DoD item",
    2: "bad usage or input",
    3: "environment or target problem: the release was not judged",
}
