"""The plugin is inert unless switched on, and bad input given through pytest is one clear
line with the right exit code: a broken `--mc-target` stops the run in configure with exit
2; an unknown QI id in a step is a failing scenario whose message names the id."""

from __future__ import annotations

import json

import pytest
from plugin_helpers import BUNDLE_NAME, PROFILE, RunSuite, hook_calls


def test_without_mc_options_the_plugin_records_nothing(
    project: pytest.Pytester, run_suite: RunSuite
) -> None:
    project.makepyfile(test_plain="def test_plain():\n    assert True\n")

    result = run_suite("test_plain.py", mc=False)

    result.assert_outcomes(passed=1)
    assert not (project.path / "dist").exists()
    assert list(project.path.rglob("*.chain.jsonl")) == []
    assert hook_calls(project) == []
    assert "evidence bundle" not in result.stdout.str()


def test_mc_evidence_without_mc_options_says_how_to_switch_it_on(
    project: pytest.Pytester, run_suite: RunSuite
) -> None:
    result = run_suite(mc=False)

    assert result.ret == 1
    result.stdout.fnmatch_lines(["*mc_evidence needs pytest-mc switched on: pass --mc-target*"])
    assert not (project.path / "dist").exists()


def test_the_module_name_works_too_when_autoload_is_off(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest_subprocess(
        "-p",
        "pytest_mc.plugin",
        "-p",
        "no:cacheprovider",
        "--mc-target",
        "profile.yaml",
        "--mc-out",
        "dist",
    )

    result.assert_outcomes(passed=3)
    assert (project.path / "dist" / BUNDLE_NAME).exists()


def profile_with(old: str, new: str) -> str:
    assert old in PROFILE
    return PROFILE.replace(old, new)


BAD_PROFILES = [
    pytest.param(
        'allowed_hosts: ["127.0.0.1"\n', ["malformed YAML", "bad.yaml:"], id="malformed-yaml"
    ),
    pytest.param(
        profile_with("time_scale: 600\n", "time_scale: 600\ncolour: blue\n"),
        ["bad.yaml:", "colour", "unknown field"],
        id="unknown-field",
    ),
    pytest.param(
        profile_with("time_scale: 600", "time_scale: fast"),
        ["bad.yaml:", "time_scale", "'fast'"],
        id="wrong-type",
    ),
    pytest.param(
        profile_with("time_scale: 600", "time_scale: 100000"),
        ["time_scale 100000", "tripwire_", "use time_scale <="],
        id="time-scale-too-high",
    ),
]


@pytest.mark.parametrize(("content", "fragments"), BAD_PROFILES)
def test_a_bad_profile_stops_the_run_with_one_line_and_exit_2(
    project: pytest.Pytester, run_suite: RunSuite, content: str, fragments: list[str]
) -> None:
    project.makefile(".yaml", bad=content)

    result = run_suite(target="bad.yaml")

    assert result.ret == 2
    assert_one_line_exit(result, fragments)
    assert not (project.path / "dist").exists()


def test_a_missing_profile_stops_the_run_with_one_line_and_exit_2(
    project: pytest.Pytester, run_suite: RunSuite
) -> None:
    result = run_suite(target="absent.yaml")

    assert result.ret == 2
    assert_one_line_exit(result, ["absent.yaml", "not found"])


def assert_one_line_exit(result: pytest.RunResult, fragments: list[str]) -> None:
    output = result.stdout.lines + result.stderr.lines
    assert not any("Traceback" in line or "INTERNALERROR" in line for line in output), output
    mentions = [line for line in output if "pytest-mc:" in line]
    assert len(mentions) == 1, output
    for fragment in fragments:
        assert fragment in mentions[0], mentions[0]


def test_an_unknown_qi_id_fails_its_scenario_naming_the_id(
    project: pytest.Pytester, run_suite: RunSuite
) -> None:
    project.makefile(
        ".feature",
        lag="""\
Feature: A step measures a QI the catalog does not define
  @tenant:TENANT_004
  Scenario: Typo in a QI id
    Given a measurement of unknown QI replication_lagg for TENANT_004
""",
    )

    result = run_suite()

    result.assert_outcomes(failed=1)
    assert result.ret == 2  # a step naming a QI the catalog lacks is bad input, not a failed gate
    result.stdout.fnmatch_lines(["*unknown QI id 'replication_lagg' in QI catalog 1.0.0*"])
    bundle = json.loads((project.path / "dist" / BUNDLE_NAME).read_text())
    (scenario,) = bundle["tenants"]["TENANT_004"]["scenarios"]
    assert scenario["outcome"] == "failed"
    assert bundle["tenants"]["TENANT_004"]["measurements"] == []
    finished = [
        record["body"]
        for record in bundle["chains"][0]["records"]
        if record["body"]["kind"] == "scenario_finished"
    ]
    assert "replication_lagg" in finished[0]["message"]
