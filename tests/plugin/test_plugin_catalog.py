"""`pytest --mc-catalog`: the catalog goes through the same identity check as every command.

A DRAFT copy of catalog 1.0.0 with one threshold loosened is refused in configure (exit 2, one
line naming the QI); a DRAFT under a version of its own runs, and its bundle is labelled
draft catalog with no DoD item satisfied.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from plugin_helpers import BUNDLE_NAME, RunSuite

from pytest_mc.policy.catalog import DEFAULT_CATALOG_PATH


def catalog_copy(directory: Path, *, version: str | None, lag_target: float) -> Path:
    data = yaml.safe_load(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"))
    data["status"] = "DRAFT"
    if version is not None:
        data["version"] = version
    for qi in data["qis"]:
        if qi["id"] == "replication_lag":
            qi["target"] = lag_target
    path = directory / "qi-draft.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_a_loosened_draft_copy_of_1_0_0_stops_the_run_with_one_line(
    project: pytest.Pytester, run_suite: RunSuite
) -> None:
    path = catalog_copy(project.path, version=None, lag_target=90)

    result = run_suite("--mc-catalog", str(path))

    assert result.ret == 2
    lines = [line for line in result.stdout.lines + result.stderr.lines if "pytest-mc:" in line]
    assert lines == [
        f"Exit: pytest-mc: QI catalog 1.0.0 ({path}) was changed under its frozen version: "
        "qis[replication_lag] differs from its frozen digest; restore it, or give the draft a "
        "version of its own to experiment with it (see docs/qi-catalog.md)"
    ]
    assert not (project.path / "dist" / BUNDLE_NAME).exists()


def test_a_draft_under_its_own_version_runs_and_its_bundle_says_draft_catalog(
    project: pytest.Pytester, run_suite: RunSuite
) -> None:
    path = catalog_copy(project.path, version="1.1.0", lag_target=90)

    result = run_suite("--mc-catalog", str(path))

    # 75 s of lag meets the loosened <= 90 here, and the bundle says on what catalog.
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        ["evidence bundle: *(DRAFT CATALOG 1.1.0: cannot satisfy a DoD item)*"]
    )
    bundle = json.loads((project.path / "dist" / BUNDLE_NAME).read_text(encoding="utf-8"))
    assert bundle["draft_catalog"] is True
    assert (bundle["catalog"]["version"], bundle["catalog"]["status"]) == ("1.1.0", "DRAFT")
    p1 = next(row for row in bundle["dod"] if row["qi_id"] == "p1_incidents")
    assert (p1["verdict"], p1["draft_catalog"], p1["satisfied"]) == ("pass", True, False)
    assert "draft catalog 1.1.0: cannot satisfy a DoD item" in p1["reason"]
    assert not any(row["satisfied"] for row in bundle["dod"])
