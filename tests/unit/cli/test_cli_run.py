"""`mc-verify run` refuses bad input before pytest starts: exit 2 and one line, no traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pytest_mc.cli.main import main
from pytest_mc.cli.run import set_results_aside

GOOD = """\
name: cli-staging
environment: staging
allowed_hosts: ["127.0.0.1"]
time_scale: 600
glb_url: "http://127.0.0.1:9"
metrics:
  source: scrape
  sample_interval_seconds: 0.1
  endpoints: [{component: glb, url: "http://127.0.0.1:9/metrics"}]
regions:
  - {id: eu-west, jurisdiction: eu}
  - {id: eu-central, jurisdiction: eu}
tenants:
  - {id: TENANT_004, wave: A, residency: eu, regions: [eu-west, eu-central],
     slo_baseline: {availability: 0.999, latency_p95_ms: 250}}
"""

CASES = {
    "malformed YAML": (GOOD.replace("regions:\n", "regions: [\n", 1), r"malformed YAML"),
    "unknown field": (GOOD + "colour: blue\n", r"colour: unknown field"),
    "wrong type": (GOOD.replace("time_scale: 600", "time_scale: soon"), r"time_scale: .*'soon'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_profile_is_exit_2_with_one_line(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, expected = CASES[case]
    profile = tmp_path / "profile.yaml"
    profile.write_text(text)
    assert main(["run", "--target", str(profile), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("error: ")
    assert re.search(expected, err), err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


UNSAFE = {
    "not a staging": (
        GOOD.replace("environment: staging", "environment: production"),
        r"refused to run the plan rehearsal .* environment is 'production', not 'staging'",
    ),
    "host outside the fence": (
        GOOD.replace('glb_url: "http://127.0.0.1:9"', 'glb_url: "http://192.0.2.7:9"'),
        r"glb_url host '192\.0\.2\.7' is not in allowed_hosts",
    ),
}


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_unsafe_target_is_refused_with_exit_3_before_anything_runs(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, expected = UNSAFE[case]
    profile = tmp_path / "profile.yaml"
    profile.write_text(text)
    assert main(["run", "--target", str(profile), "--out", str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert re.search(expected, err), err
    assert not (tmp_path / "out").exists()


def test_missing_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--target", str(tmp_path / "absent.yaml")]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: target profile not found: {tmp_path / 'absent.yaml'}; "
        "point the target at an existing profile (format: docs/target-profile.md)\n"
    )


def test_bad_catalog_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = tmp_path / "qi.yaml"
    catalog.write_text(yaml.safe_dump({"version": "9.9.9"}))
    assert main(["run", "--catalog", str(catalog)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: "), err
    assert err.count("\n") == 1, err


def test_unknown_subcommand_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rehearse-everything"]) == 2
    assert "No such command" in capsys.readouterr().err


def test_an_earlier_runs_allure_results_are_set_aside_not_mixed_in(tmp_path: Path) -> None:
    results = tmp_path / "allure-results"
    assert set_results_aside(results) is None  # a first run: nothing to move
    results.mkdir()
    (results / "first-result.json").write_text("{}")
    assert set_results_aside(results) == tmp_path / "allure-results.previous"
    assert not results.exists()
    results.mkdir()
    (results / "second-result.json").write_text("{}")
    set_results_aside(results)  # the run before last is dropped, the last one kept
    assert sorted(p.name for p in (tmp_path / "allure-results.previous").iterdir()) == [
        "second-result.json"
    ]
