"""PNG charts for people who would rather look than read: a watched value against its line.

Rendered with matplotlib's object API (no display, no global state) from models the drivers
return; the caller attaches the bytes as a `chart` artifact, so a chart is evidence like any
other. Time axes are in plan minutes, the unit the plan speaks.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from matplotlib.figure import Figure

from pytest_mc.drivers.tripwire_watch import TripwireSighting
from pytest_mc.evidence.records import DrillEvent


def threshold_chart(
    sighting: TripwireSighting,
    *,
    title: str,
    threshold: float,
    unit: str,
    time_scale: float,
    marks: Sequence[tuple[str, datetime]] = (),
) -> bytes:
    """A condition's values over the watch against its threshold, with labelled moments."""
    start = sighting.points[0].at if sighting.points else datetime.now()
    figure = Figure(figsize=(8, 3.6), dpi=110)
    axes = figure.subplots()
    minutes = [_plan_minutes(point.at, start, time_scale) for point in sighting.points]
    axes.plot(minutes, [p.value for p in sighting.points], color="#1f5fa8", label=sighting.qi_id)
    axes.axhline(threshold, color="#c0392b", linestyle="--", linewidth=1.2, label="threshold")
    for label, at in marks:
        offset = _plan_minutes(at, start, time_scale)
        axes.axvline(offset, color="#555555", linestyle=":", linewidth=1)
        axes.annotate(
            label,
            (offset, 1.0),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            fontsize=7,
        )
    axes.set_title(title, fontsize=10)
    axes.set_xlabel("plan minutes since the fault was injected")
    axes.set_ylabel(unit)
    axes.legend(loc="upper left", fontsize=8)
    axes.grid(alpha=0.3)
    return _png(figure)


def drill_timeline_chart(events: Sequence[DrillEvent], *, title: str, time_scale: float) -> bytes:
    """A DR drill's events on one time line."""
    start = events[0].at if events else datetime.now()
    figure = Figure(figsize=(8, 2.8), dpi=110)
    axes = figure.subplots()
    offsets = [_plan_minutes(event.at, start, time_scale) for event in events]
    axes.scatter(offsets, [0] * len(offsets), color="#1f5fa8", zorder=3)
    for row, (offset, event) in enumerate(zip(offsets, events, strict=True)):
        axes.annotate(
            event.event,
            (offset, 0),
            xytext=(0, 12 + 12 * (row % 3)),
            textcoords="offset points",
            rotation=30,
            fontsize=7,
        )
    axes.set_yticks([])
    axes.set_xlabel("plan minutes since the drill began")
    axes.set_title(title, fontsize=10)
    axes.grid(alpha=0.3, axis="x")
    return _png(figure)


def _plan_minutes(at: datetime, start: datetime, time_scale: float) -> float:
    return (at - start).total_seconds() * time_scale / 60


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
