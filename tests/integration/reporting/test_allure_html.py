"""The auditors' single-file Allure report, generated from a real run and opened in Chromium.

A small feature runs through pytest-mc with allure-pytest-bdd against the reference staging;
the report is generated as `mc-verify run` generates it, then headless Chromium opens the file
(no server, no network) and the rendered DOM must show every scenario, its steps, its labels and
the evidence attachments the plugin added. `mc-verify run` itself must end with the report
and say where it is.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pytest_mc.drivers.runner import ToolRunner
from pytest_mc.errors import ToolMissingError
from pytest_mc.reporting.allure_html import locate_allure, remote_loads, report_after_run

pytestmark = pytest.mark.integration

RELEASE = "v0.3.1-mc"

FEATURE = """\
Feature: Evidence an auditor reads in the HTML report
  A residency check against the target and the QI catalog reference, each with evidence.

  @plan:A.1 @workstream:aa-expansion @tenant:TENANT_004
  Scenario: Residency is enforced for TENANT_004
    Given tenant TENANT_004 of the target profile
    When tenant TENANT_004 writes data through the GLB
    And a write of tenant TENANT_004 is sent directly to each region outside its jurisdiction
    Then every such write of tenant TENANT_004 is denied with 451 and counted as a residency denial
    And none of tenant TENANT_004's data is found in a region outside its jurisdiction

  @plan:C @workstream:privacy-qi-governance
  Scenario: The QI catalog is attached and referenced
    Given the QI catalog the suite judges against
    Then the catalog is attached to the evidence as YAML and as JSON
    And the evidence of this run references the catalog by version and digest

  @plan:C @workstream:privacy-qi-governance
  Scenario: A catalog status the plan does not allow fails as a gate
    Given the QI catalog the suite judges against
    Then its status is "DRAFT" at version "1.0.0"
"""

FAILING = "A catalog status the plan does not allow fails as a gate"
FAILURE_MESSAGE = "QI catalog is ('FROZEN', '1.0.0'), the plan requires DRAFT 1.0.0"
GATE_CATEGORY = "Validation gate or DoD item failed"

# Attachments the plugin adds (reporting/allure_results.py): measurements as
# "<qi>: <verdict> (<reason>)", artifacts as "<name> (sha256 <12 hex>)".
EXPECTED_ATTACHMENTS = {
    "Residency is enforced for TENANT_004": (
        re.compile(r"^privacy_violations: pass \("),
        re.compile(r"^residency-denials-TENANT_004\.json \(sha256 [0-9a-f]{12}\)$"),
    ),
    "The QI catalog is attached and referenced": (
        re.compile(r"^qi-catalog-1\.0\.0\.yaml \(sha256 [0-9a-f]{12}\)$"),
        re.compile(r"^qi-catalog-1\.0\.0\.json \(sha256 [0-9a-f]{12}\)$"),
    ),
    FAILING: (),
}

_CHROMIUM_FLAGS = (
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-quic",
    "--virtual-time-budget=15000",
)


def _feature_steps(scenario: str) -> list[str]:
    """The step lines of `scenario` in FEATURE, as written."""
    block = FEATURE.split(f"Scenario: {scenario}\n", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip()]


def _tools_or_skip() -> str:
    """Chromium's path; skips (fails on CI, whose set-up installs both) without the tools."""
    chromium = shutil.which("chromium")
    missing = [] if chromium else ["chromium (Debian package chromium)"]
    try:
        locate_allure()
    except ToolMissingError as exc:
        missing.append(str(exc))
    if missing:
        reason = "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(f"./tasks setup installs these on CI, yet: {reason}")
        pytest.skip(f"needs {reason}")
    assert chromium is not None
    return chromium


class _VisibleText(HTMLParser):
    """The text a reader sees: every text node outside script and style, whitespace folded."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.parts.append(" ".join(data.split()))


def rendered_text(chromium: str, page: Path, route: str, profile_dir: Path) -> list[str]:
    """Open `page#route` from disk in headless Chromium; the rendered DOM's text nodes."""
    flags = [*_CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}"]
    if os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox
    done = ToolRunner().run(
        [chromium, *flags, "--dump-dom", f"{page.as_uri()}#{route}"],
        tool="chromium",
        timeout=120,
    )
    assert done.ok, f"chromium failed on {page}#{route}: {done.stderr[-2000:]}"
    parser = _VisibleText()
    parser.feed(done.stdout)
    assert parser.parts, f"chromium rendered nothing for {page}#{route}"
    return parser.parts


def test_single_file_report_renders_scenarios_steps_and_evidence_attachments(
    tmp_path: Path, reference_staging, run_feature
) -> None:
    chromium = _tools_or_skip()
    out = tmp_path / "out"
    results_dir = out / "allure-results"
    run = run_feature(
        reference_staging.profile_path,
        FEATURE,
        "-p",
        "allure_pytest_bdd",
        "--alluredir",
        str(results_dir),
    )
    assert run.returncode == 1, run.output  # the failing scenario, and only it
    assert "1 failed, 2 passed" in run.output, run.output

    said: list[str] = []
    assert report_after_run(out, RELEASE, 1, echo=said.append) == 1, said
    report = out / f"allure-report-{RELEASE}.html"
    assert len(said) == 1, said
    assert said[0].startswith(f"allure report: {report} ("), said
    assert sorted(path.name for path in out.glob("*.html")) == [report.name]
    assert not list(out.glob(".*.work")), "the scratch directory was left behind"
    html = report.read_text(encoding="utf-8")
    assert remote_loads(html) == []

    # What the run wrote to allure-results is what the report has to show.
    results = [json.loads(path.read_text()) for path in results_dir.glob("*-result.json")]
    assert sorted(result["name"] for result in results) == sorted(EXPECTED_ATTACHMENTS)
    for result in results:
        steps = [step["name"] for step in result["steps"]]
        assert steps == _feature_steps(result["name"]), steps
        attached = [a["name"] for step in result["steps"] for a in step.get("attachments", ())]
        for pattern in EXPECTED_ATTACHMENTS[result["name"]]:
            assert any(pattern.search(name) for name in attached), (pattern, attached)
        # a step's arguments show as short values, never a scenario's whole state by repr
        # (the campaign's made a rehearsal's report 35 MB)
        shown = {p["name"]: p["value"] for step in result["steps"] for p in step["parameters"]}
        assert all(len(value) <= 2_000 for value in shown.values()), {
            name: len(value) for name, value in shown.items()
        }

    states = [p["value"] for r in results for step in r["steps"] for p in step["parameters"]]
    assert any(value.endswith(" of this scenario>") for value in states), states

    profile_dir = tmp_path / "chromium-profile"
    overview = " ".join(rendered_text(chromium, report, "", profile_dir))
    assert f"MC {RELEASE}: REHEARSAL at time scale 600 (cannot satisfy a GA DoD item)" in overview
    assert "rehearsal yes (cannot satisfy a GA DoD item)" in overview
    assert "3 test cases" in overview, overview[:2000]

    categories = rendered_text(chromium, report, "categories", profile_dir)
    assert GATE_CATEGORY in categories, categories
    assert "Other failed checks" not in categories, categories

    behaviors = " ".join(rendered_text(chromium, report, "behaviors", profile_dir))
    epics = {label["value"] for r in results for label in r["labels"] if label["name"] == "epic"}
    assert len(epics) == 2, epics
    for epic in epics:
        assert epic in behaviors, (epic, behaviors[:2000])

    case_ids = sorted(set(re.findall(r"data/test-cases/([0-9a-f]{16,})\.json", html)))
    assert len(case_ids) == len(results), case_ids
    seen: dict[str, list[str]] = {}
    for case_id in case_ids:
        texts = rendered_text(chromium, report, f"testresult/{case_id}", profile_dir)
        name = next(n for n in EXPECTED_ATTACHMENTS if n in texts)
        seen[name] = texts
    assert sorted(seen) == sorted(EXPECTED_ATTACHMENTS)
    for result in results:
        texts = seen[result["name"]]
        page = " ".join(texts)
        assert ("Failed" if result["name"] == FAILING else "Passed") in texts, page[:2000]
        for step in result["steps"]:
            assert step["name"] in texts, (step["name"], page[:3000])
            for attachment in step.get("attachments", ()):
                assert attachment["name"] in texts, (attachment["name"], page[:3000])
        for label in ("owner", "severity"):
            value = next(x["value"] for x in result["labels"] if x["name"] == label)
            assert value in page, (label, value)
    failing = " ".join(seen[FAILING])
    assert FAILURE_MESSAGE in failing, failing[:3000]
    assert f"Categories: {GATE_CATEGORY}" in failing, failing[:3000]
    residency = " ".join(seen["Residency is enforced for TENANT_004"])
    assert "TENANT_004" in residency
    assert "rehearsal" in residency


def test_mc_verify_run_ends_with_the_report_and_says_where_it_is(tmp_path: Path) -> None:
    _tools_or_skip()
    out = tmp_path / "dist"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_mc.cli.main",
            "run",
            "--out",
            str(out),
            "-k",
            "qi_catalog_is_frozen_at_v100",
        ],
        cwd=tmp_path,
        env={**os.environ, "K6_NO_USAGE_REPORT": "true"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    lines = done.stdout.splitlines()
    report = out / f"allure-report-{RELEASE}.html"
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert any(line.startswith(f"allure report: {report} (") for line in lines), lines[-5:]
    assert lines[-1] == (
        "mc-verify run: exit 0 (every scenario passed; the DoD table says which items that "
        "satisfies)"
    )
    assert (out / f"evidence-{RELEASE}.json").is_file()
    assert remote_loads(report.read_text(encoding="utf-8")) == []
    # the timeline ends with the week-5 decision; a one-scenario rehearsal can only hold
    decision = out / "week5-decision.md"
    assert any(
        line.startswith("week-5 decision: hold (") and line.endswith(str(decision))
        for line in lines
    ), lines[-6:]
    assert "the evidence is a rehearsal" in decision.read_text(encoding="utf-8")
