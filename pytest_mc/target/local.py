"""The embedded default target: start the reference staging (`mc-staging up`) and stop it.

Only the `mc-staging` command is used, never the `mc_staging` package, so the suite talks to
the reference exactly as it would to any staging: through its CLI and its profile.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from pytest_mc.errors import ToolMissingError, UnreachableError

UP_TIMEOUT_SECONDS = 120.0
DOWN_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class LocalStaging:
    """A running reference staging: its state directory and generated profile."""

    state_dir: Path
    profile_path: Path
    command: str


def start_local_staging(
    state_dir: Path,
    *,
    time_scale: float | None = None,
    sample_interval: float | None = None,
    defects: tuple[str, ...] = (),
) -> LocalStaging:
    """Run `mc-staging up` and wait for it to report healthy.

    `defects` names deliberate defects of the reference staging (`mc-staging up --defect`);
    only tests of the suite itself ask for them."""
    command = _mc_staging_command()
    if command is None:
        raise ToolMissingError(
            "mc-staging not found on PATH; install pytest-mc with its extras "
            "(pip install -e '.[all]') or pass --mc-target PROFILE for your own staging"
        )
    argv = [command, "--state-dir", str(state_dir), "up", "--json"]
    if time_scale is not None:
        argv += ["--time-scale", f"{time_scale:g}"]
    if sample_interval is not None:
        argv += ["--sample-interval", f"{sample_interval:g}"]
    for defect in defects:
        argv += ["--defect", defect]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=UP_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        stop_local_staging(LocalStaging(state_dir, state_dir / "profile.yaml", command))
        raise UnreachableError(
            f"reference staging did not become healthy within {UP_TIMEOUT_SECONDS:g}s; "
            f"see the logs under {state_dir}"
        ) from None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise UnreachableError(f"reference staging failed to start: {reason}")
    try:
        profile = Path(json.loads(done.stdout)["profile"])
    except (ValueError, KeyError, TypeError):
        raise UnreachableError(
            f"mc-staging up printed no profile path (got {done.stdout[:200]!r})"
        ) from None
    return LocalStaging(state_dir=state_dir, profile_path=profile, command=command)


def set_previous_state_aside(state_dir: Path) -> Path | None:
    """Make room for a fresh reference staging in `state_dir`, which an earlier run may have
    left (a rehearsal ends with tenants rolled back and paused, state the next one must not
    start from). A staging still running there is stopped, and the directory is kept as
    `<name>.previous` (replacing an older one) for whoever wants to read its logs; returns
    that path, or None when there was nothing."""
    if not state_dir.exists():
        return None
    command = _mc_staging_command()
    if command is not None:
        stop_local_staging(LocalStaging(state_dir, state_dir / "profile.yaml", command))
    previous = state_dir.with_name(f"{state_dir.name}.previous")
    if previous.exists():
        shutil.rmtree(previous)
    state_dir.rename(previous)
    return previous


def _mc_staging_command() -> str | None:
    # The console script sits next to this interpreter even when its bin/ is not on PATH.
    beside = Path(sys.executable).parent / "mc-staging"
    return str(beside) if beside.is_file() else shutil.which("mc-staging")


def stop_local_staging(staging: LocalStaging) -> None:
    """Run `mc-staging down`: it stops every process it started, by pid."""
    subprocess.run(
        [staging.command, "--state-dir", str(staging.state_dir), "down"],
        capture_output=True,
        timeout=DOWN_TIMEOUT_SECONDS,
        check=False,
    )
