"""`mc-verify target check` against the reference staging, and against profiles of it with one
capability taken away: a control command that is not there, a metric endpoint not named.
`mc-verify run` and `mc-verify bake` run the same check first and stop there (exit 3)."""

from __future__ import annotations

import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import pytest
import yaml

from pytest_mc.cli.main import main

pytestmark = pytest.mark.integration


class Staging(Protocol):
    profile_path: Path


Edit = Callable[[dict[str, Any], Path], None]


def _profile(staging: Staging, tmp_path: Path, edit: Edit) -> Path:
    document = yaml.safe_load(staging.profile_path.read_text(encoding="utf-8"))
    edit(document, tmp_path)
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _without_tripwires_status(document: dict[str, Any], work: Path) -> None:
    """The control command behind a wrapper that knows every command but `tripwires status`."""
    real = document["control"]["command"]
    wrapper = work / "control-without-tripwires-status"
    wrapper.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = tripwires ] && [ "$2" = status ]; then\n'
        "  echo 'error: no such command: tripwires status' >&2; exit 2\n"
        "fi\n"
        f'exec {" ".join(real)} "$@"\n',
        encoding="utf-8",
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    document["control"]["command"] = [str(wrapper)]


def _without_glb_metrics(document: dict[str, Any], _work: Path) -> None:
    endpoints = document["metrics"]["endpoints"]
    document["metrics"]["endpoints"] = [e for e in endpoints if e["component"] != "glb"]


def _check(profile: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["target", "check", "--target", str(profile)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_the_reference_staging_offers_every_capability(
    reference_staging: Staging, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = _check(reference_staging.profile_path, capsys)
    assert code == 0, output
    assert "MISSING" not in output
    for capability in ("fence", "admin secret", "control: tripwires status", "metrics: glb"):
        assert capability in output
    assert "capabilities present" in output
    # the admin secret was read, never shown
    assert Path(reference_staging.profile_path.parent / "admin.token").read_text().strip() not in (
        output
    )


@pytest.mark.parametrize(
    ("edit", "names"),
    [
        (_without_tripwires_status, "control: tripwires status"),
        (_without_glb_metrics, "metrics: glb"),
    ],
)
def test_a_missing_capability_is_exit_3_naming_exactly_it(
    reference_staging: Staging,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    edit: Edit,
    names: str,
) -> None:
    code, output = _check(_profile(reference_staging, tmp_path, edit), capsys)
    assert code == 3, output
    missing = [line for line in output.splitlines() if "MISSING" in line]
    assert len(missing) == 1, missing
    assert names in missing[0], missing
    assert re.search(rf"1 of \d+ capabilities missing, first {names}", " ".join(output.split()))


def test_run_and_bake_stop_at_the_check_before_anything_runs(
    reference_staging: Staging, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = _profile(reference_staging, tmp_path, _without_glb_metrics)
    for command in (["run"], ["bake", "--tenant", "TENANT_004"]):
        out = tmp_path / f"out-{command[0]}"
        code = main([*command, "--target", str(profile), "--out", str(out)])
        output = capsys.readouterr()
        assert code == 3, (command, output)
        assert "first metrics: glb" in output.out + output.err, (command, output)
        # no scenario ran, no slice was baked: the chain holds no scenario and no day
        chain = out / "evidence-v0.3.1-mc.chain.jsonl"
        text = chain.read_text() if chain.exists() else ""
        assert "scenario_started" not in text, command
        assert "day_verdict" not in text, command
