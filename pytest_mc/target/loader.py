"""Loading a target profile and enforcing the time-scale resolution rule (DESIGN §5).

A rehearsal compresses plan time by `time_scale`; a window compressed below
`MIN_SAMPLES_PER_WINDOW` metric samples cannot be judged, so such a profile is refused at
load time with the window, the scale and a scale that would work.
"""

from __future__ import annotations

from pathlib import Path

from pytest_mc.errors import ProfileError
from pytest_mc.inputs import FileKind, load_model
from pytest_mc.policy.catalog import QiCatalog
from pytest_mc.policy.timewindow import format_duration
from pytest_mc.target.profile import TargetProfile

MIN_SAMPLES_PER_WINDOW = 5

_PROFILE_FILE = FileKind(
    name="target profile",
    error=ProfileError,
    missing_hint="point the target at an existing profile (format: docs/target-profile.md)",
    shape=" (name, environment, glb_url, regions, tenants, ...)",
    fix_hint="see docs/target-profile.md",
)


def load_profile(path: Path, catalog: QiCatalog) -> TargetProfile:
    """Read and validate the profile at `path`; check its time scale against `catalog`."""
    profile = load_model(path, TargetProfile, _PROFILE_FILE)
    check_time_scale(profile, catalog, source=str(path))
    return profile


def check_time_scale(profile: TargetProfile, catalog: QiCatalog, *, source: str) -> None:
    """Refuse a scale at which a catalog window would hold fewer than five metric samples."""
    interval = profile.metrics.sample_interval_seconds
    windowed = [qi for qi in catalog.qis if qi.window_seconds]
    if not windowed:
        return
    shortest = min(windowed, key=lambda qi: qi.window_seconds or 0.0)
    plan_window = shortest.window_seconds or 0.0
    wall_window = plan_window / profile.time_scale
    if wall_window >= MIN_SAMPLES_PER_WINDOW * interval:
        return
    workable_scale = plan_window / (MIN_SAMPLES_PER_WINDOW * interval)
    workable_interval = wall_window / MIN_SAMPLES_PER_WINDOW
    # time_scale is at least 1: a scale below that is no advice at all.
    advice = (
        f"use time_scale <= {workable_scale:.4g} or a sample interval <= {workable_interval:.3g}s"
        if workable_scale >= 1.0
        else f"use a sample interval <= {workable_interval:.3g}s (no time_scale >= 1 leaves "
        f"{MIN_SAMPLES_PER_WINDOW} samples at {interval:g}s)"
    )
    raise ProfileError(
        f"target profile {source}: time_scale {profile.time_scale:g} shrinks the "
        f"{format_duration(plan_window)} window of {shortest.id} to {wall_window:.3g}s wall, "
        f"fewer than {MIN_SAMPLES_PER_WINDOW} samples at metrics.sample_interval_seconds "
        f"{interval:g}; {advice}"
    )
