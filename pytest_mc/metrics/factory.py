"""Build the metric pipeline a profile asks for: source, bounded store and evaluator.

The store's rings are sized by the longest tripwire window in the QI catalog (6h burn), so a
24h bake holds at most that much per series in memory; the rest is on disk.
"""

from __future__ import annotations

from pathlib import Path

from pytest_mc.errors import InputError
from pytest_mc.metrics.evaluator import WindowEvaluator
from pytest_mc.metrics.prometheus import PrometheusSource
from pytest_mc.metrics.scrape import ScrapeSource
from pytest_mc.metrics.source import MetricSource
from pytest_mc.metrics.store import SampleStore
from pytest_mc.policy.catalog import QiCatalog
from pytest_mc.target.profile import TargetProfile


def longest_window_plan_seconds(catalog: QiCatalog) -> float:
    """The longest metric window any tripwire of the catalog evaluates (plan seconds)."""
    windows = [
        qi.window_seconds for qi in catalog.qis if qi.kind == "tripwire" and qi.window_seconds
    ]
    if not windows:
        raise InputError(f"QI catalog {catalog.version} defines no tripwire window to size for")
    return max(windows)


def store_for_profile(
    profile: TargetProfile, catalog: QiCatalog, path: Path | None = None
) -> SampleStore:
    """A sample store for ``profile`` whose rings hold the catalog's longest window."""
    return SampleStore.for_windows(
        longest_window_plan_seconds=longest_window_plan_seconds(catalog),
        time_scale=profile.time_scale,
        sample_interval_seconds=profile.metrics.sample_interval_seconds,
        path=path,
    )


def open_metric_source(profile: TargetProfile, store: SampleStore | None = None) -> MetricSource:
    """The source ``metrics.source`` names: direct scrapes (into ``store``) or Prometheus."""
    settings = profile.metrics
    if settings.source == "prometheus":
        assert settings.prometheus_url is not None  # the profile model enforces it
        return PrometheusSource(
            settings.prometheus_url, step_seconds=settings.sample_interval_seconds
        )
    return ScrapeSource(settings.endpoints, store=store)


def evaluator_for(profile: TargetProfile, source: MetricSource) -> WindowEvaluator:
    """A windowed evaluator at the profile's time scale and sample interval."""
    return WindowEvaluator(
        source,
        time_scale=profile.time_scale,
        sample_interval_seconds=profile.metrics.sample_interval_seconds,
    )
