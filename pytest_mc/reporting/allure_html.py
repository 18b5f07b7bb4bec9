"""The auditors' HTML report: one self-contained file that Allure 3 renders from a run's results.

Owns finding Allure 3 (the checkout's `node_modules/.bin/allure`, then PATH), the report's
configuration (single file, named after the release, whether the run was a rehearsal and
whether it was judged against a draft catalog, analytics off), running it through the
project's tool runner, and checking that the file it wrote loads nothing from the network
before it replaces the previous report of that release.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_mc.drivers.runner import ToolRunner
from pytest_mc.errors import InputError, McError, TargetError, ToolMissingError
from pytest_mc.evidence.bundle import read_bundle
from pytest_mc.evidence.records import ActivityRecord
from pytest_mc.policy.catalog import draft_label
from pytest_mc.settings import DEFAULT_OUT, DEFAULT_RELEASE

ALLURE_TIMEOUT_SECONDS = 600.0
_VERSION_TIMEOUT_SECONDS = 60.0
SETUP_COMMAND = "./tasks setup"
RESULTS_DIRECTORY = "allure-results"

# Allure 3's "allure2" plugin draws the classic Allure report. Its "awesome" plugin (the
# default) always embeds an analytics script that loads from the internet; "allure2" leaves
# it out when ALLURE_NO_ANALYTICS=true, so an archived report opens without any network.
REPORT_PLUGIN = "allure2"
_QUIET_ENVIRONMENT = {"ALLURE_NO_ANALYTICS": "true", "NO_COLOR": "1"}

_CHECKOUT = Path(__file__).resolve().parents[2]
_RESULT_FILE = "*-result.json"
_REMOTE_LOAD = re.compile(
    r"<(?:script|link|img|iframe|source|embed|object)\b[^>]*?\b(?:src|href|data)\s*=\s*"
    r"[\"']?((?:https?:)?//[^\"'\s>]+)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AllureCommand:
    """An Allure 3 command line found on this machine."""

    path: Path
    version: str


@dataclass(frozen=True)
class HtmlReport:
    """A generated report: the single HTML file, its name, and the Allure run behind it."""

    path: Path
    name: str
    allure: AllureCommand
    activity: ActivityRecord

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size


def report_file(out_dir: Path, release: str) -> Path:
    """Where a run's report goes: next to its evidence bundle, named after the release."""
    return out_dir / f"allure-report-{release}.html"


def report_name(
    release: str,
    *,
    rehearsal: bool | None,
    time_scales: Sequence[float] = (),
    draft_catalog: str | None = None,
) -> str:
    """The title the report shows: the release, whether the run was a rehearsal, and the draft
    catalog (``"draft catalog 1.1.0"``) it was judged against, if any."""
    if rehearsal is None:
        return f"MC {release} (no evidence bundle: whether it was a rehearsal is unknown)"
    scales = "/".join(f"{scale:g}" for scale in time_scales) or "?"
    if rehearsal:
        name = f"MC {release}: REHEARSAL at time scale {scales}"
    else:
        name = f"MC {release}: staging verification at time scale {scales}"
    if draft_catalog is not None:
        return f"{name}, {draft_catalog.upper()} (cannot satisfy a DoD item)"
    return f"{name} (cannot satisfy a GA DoD item)" if rehearsal else name


def locate_allure(
    runner: ToolRunner | None = None, *, search: Sequence[Path] | None = None
) -> AllureCommand:
    """Allure 3 from the checkout's (or the working directory's) node_modules, else PATH."""
    roots = list(search) if search is not None else _dedupe([_CHECKOUT, Path.cwd()])
    candidates = [root / "node_modules" / ".bin" / "allure" for root in roots]
    path = next((candidate for candidate in candidates if candidate.is_file()), None)
    if path is None and search is None:
        found = shutil.which("allure")
        path = Path(found) if found else None
    if path is None:
        places = " or ".join(str(candidate) for candidate in candidates)
        raise ToolMissingError(
            f"Allure 3 not found: no {places} and no allure on PATH; run {SETUP_COMMAND} "
            "(npm ci installs the npm package allure from package-lock.json)"
        )
    done = (runner or ToolRunner()).run(
        [str(path), "--version"], tool="allure", timeout=_VERSION_TIMEOUT_SECONDS
    )
    version = done.stdout.strip().splitlines()[-1].strip() if done.stdout.strip() else ""
    if not done.ok or not version:
        raise ToolMissingError(
            f"allure at {path} does not run ({done.last_error_line()}); it needs Node.js 20.19 "
            f"or newer: run {SETUP_COMMAND}"
        )
    if not version.startswith("3."):
        raise ToolMissingError(
            f"allure at {path} is version {version!r}, not Allure 3; run {SETUP_COMMAND} to "
            "install Allure 3 into node_modules/ (it is found before PATH)"
        )
    return AllureCommand(path=path, version=version)


def remote_loads(html: str) -> list[str]:
    """Addresses the page would load from the network by itself (scripts, styles, images)."""
    return sorted(set(_REMOTE_LOAD.findall(html)))


def has_results(results_dir: Path) -> bool:
    return results_dir.is_dir() and any(results_dir.glob(_RESULT_FILE))


def generate_html_report(
    results_dir: Path,
    destination: Path,
    *,
    name: str,
    allure: AllureCommand | None = None,
    runner: ToolRunner | None = None,
    timeout: float = ALLURE_TIMEOUT_SECONDS,
) -> HtmlReport:
    """Render `results_dir` into the single file `destination`, titled `name`.

    Allure works in a scratch directory beside `destination`; the file replaces an earlier
    report only when Allure succeeded and the page loads nothing from the network."""
    destination = destination.resolve()  # Allure runs in the scratch directory: no relative paths
    if not has_results(results_dir):
        raise InputError(
            f"no Allure results in {results_dir} (no {_RESULT_FILE}); run the features with "
            f"--alluredir {results_dir} first"
        )
    runner = runner or ToolRunner()
    allure = allure or locate_allure(runner)
    destination.parent.mkdir(parents=True, exist_ok=True)
    scratch = destination.parent / f".{destination.name}.work"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        rendered = scratch / "report"
        config = scratch / "allurerc.json"
        config.write_text(json.dumps(_config(name, rendered), indent=2) + "\n")
        done = runner.run(
            [str(allure.path), "generate", "--config", str(config), str(results_dir.resolve())],
            tool="allure",
            timeout=timeout,
            env=_QUIET_ENVIRONMENT,
            cwd=scratch,
        )
        if done.activity.status == "timed_out":
            raise TargetError(
                f"allure generate did not finish within {timeout:g}s for {results_dir}; "
                "the results may be very large: generate again with a longer timeout"
            )
        page = rendered / "index.html"
        if not done.ok or not page.is_file():
            raise TargetError(
                f"allure generate failed for {results_dir} (exit {done.activity.exit_code}): "
                f"{done.last_error_line()}"
            )
        remote = remote_loads(page.read_text(encoding="utf-8", errors="replace"))
        if remote:
            raise TargetError(
                f"allure {allure.version} wrote a report that loads {remote[0]} from the network "
                "when opened; refusing to publish it: pin the allure version in package.json "
                "that package-lock.json has"
            )
        os.replace(page, destination)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return HtmlReport(path=destination, name=name, allure=allure, activity=done.activity)


def report_after_run(
    out_dir: Path,
    release: str,
    exit_code: int,
    echo: Callable[[str], None] = print,
    *,
    allure: AllureCommand | None = None,
) -> int:
    """`mc-verify run`'s last step: the report from `out_dir/allure-results`, said where it is.

    A report that cannot be made turns a clean run (0) into a tool problem (3); a run that
    already failed keeps its own code, so a release failure is never hidden. The bundle is
    untouched either way."""
    results = out_dir / RESULTS_DIRECTORY
    if not has_results(results):
        echo(f"allure report: not generated, no results in {results}")
        return exit_code
    try:
        report = generate_html_report(
            results,
            report_file(out_dir, release),
            name=_name_from_bundle(out_dir, release),
            allure=allure,
        )
    except McError as exc:
        echo(f"error: allure report not generated: {exc}")
        return 3 if exit_code == 0 else exit_code
    echo(
        f"allure report: {report.path} ({report.size_bytes / 1e6:.1f} MB, one file, "
        f"Allure {report.allure.version}, {report.activity.duration_seconds:.1f}s)"
    )
    return exit_code


def _name_from_bundle(out_dir: Path, release: str) -> str:
    bundle_path = out_dir / f"evidence-{release}.json"
    if not bundle_path.is_file():
        return report_name(release, rehearsal=None)
    bundle = read_bundle(bundle_path)
    return report_name(
        release,
        rehearsal=bundle.rehearsal,
        time_scales=bundle.time_scales,
        draft_catalog=draft_label(bundle.catalog),
    )


def _config(name: str, output: Path) -> dict[str, object]:
    options = {"singleFile": True, "reportName": name, "reportLanguage": "en"}
    return {"name": name, "output": str(output), "plugins": {REPORT_PLUGIN: {"options": options}}}


def _dedupe(paths: Sequence[Path]) -> list[Path]:
    seen: list[Path] = []
    for path in paths:
        if path.resolve() not in seen:
            seen.append(path.resolve())
    return seen


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m pytest_mc.reporting.allure_html`: regenerate a run's report from its results."""
    parser = argparse.ArgumentParser(
        prog="python -m pytest_mc.reporting.allure_html",
        description="Regenerate the single-file Allure report of a run from OUT/allure-results.",
    )
    parser.add_argument("--out", type=Path, default=Path(DEFAULT_OUT), help="the run's --out")
    parser.add_argument("--release", default=DEFAULT_RELEASE, help="the run's --release")
    arguments = parser.parse_args(argv)
    try:
        results = arguments.out / RESULTS_DIRECTORY
        report = generate_html_report(
            results,
            report_file(arguments.out, arguments.release),
            name=_name_from_bundle(arguments.out, arguments.release),
        )
    except McError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"allure report: {report.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
