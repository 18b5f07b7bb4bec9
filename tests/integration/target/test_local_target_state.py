"""The embedded default target starts fresh on every run: a second `mc-verify run` into the
same output directory sets the first run's staging aside (kept as `staging.previous`) instead
of starting from the state it ended in (tenants rolled back, flags changed)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from pytest_mc.target.local import (
    LocalStaging,
    set_previous_state_aside,
    start_local_staging,
    stop_local_staging,
)

pytestmark = pytest.mark.integration
TENANT = "TENANT_004"


def _control(staging: LocalStaging, *args: str) -> dict[str, object]:
    profile = yaml.safe_load(staging.profile_path.read_text())
    done = subprocess.run(
        [*profile["control"]["command"], *args, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _ttl_autotune(staging: LocalStaging) -> object:
    flags = _control(staging, "tenant", "status", "--tenant", TENANT)["flags"]
    assert isinstance(flags, dict)
    return flags["ttl_autotune"]


def test_a_second_run_starts_a_fresh_staging_and_keeps_the_first_aside(tmp_path: Path) -> None:
    state = tmp_path / "dist" / "staging"
    assert set_previous_state_aside(state) is None  # nothing there yet
    first = start_local_staging(state)
    try:
        initial = _ttl_autotune(first)
        _control(
            first,
            "flags",
            "set",
            "--tenant",
            TENANT,
            "--flag",
            "ttl-autotune",
            "--value",
            "false" if initial else "true",
        )
        assert _ttl_autotune(first) != initial
    finally:
        stop_local_staging(first)

    kept = set_previous_state_aside(state)

    assert kept == tmp_path / "dist" / "staging.previous"
    assert (kept / "logs").is_dir()
    second = start_local_staging(state)
    try:
        assert _ttl_autotune(second) == initial
    finally:
        stop_local_staging(second)
    assert set_previous_state_aside(state) == kept  # an older previous is replaced
    assert not state.exists()
