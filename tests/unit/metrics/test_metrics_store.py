"""The sample store stays bounded: fixed rings in memory, everything else on disk."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from pytest_mc.errors import InputError
from pytest_mc.metrics.factory import longest_window_plan_seconds, store_for_profile
from pytest_mc.metrics.source import MetricQuery, Sample
from pytest_mc.metrics.store import RecordedSource, RingSeries, SampleStore, read_log, ring_capacity
from pytest_mc.policy.catalog import load_catalog
from pytest_mc.target.profile import TargetProfile

T0 = 1_800_000_000.0
QUERY = 'max (mc_replication_lag_seconds{tenant="TENANT_001"})'


def test_ring_keeps_the_newest_points_in_order() -> None:
    ring = RingSeries(4)
    for second in range(10):
        assert ring.append(T0 + second, float(second))
    assert len(ring) == 4
    assert ring.window(T0, T0 + 100) == [(T0 + s, float(s)) for s in (6, 7, 8, 9)]
    assert ring.window(T0 + 7, T0 + 8) == [(T0 + 7, 7.0), (T0 + 8, 8.0)]
    assert not ring.covers(T0 + 5)
    assert ring.covers(T0 + 6)
    assert not ring.append(T0 + 8.5, 1.0)  # older than the newest point: refused


def test_ring_capacity_is_sized_by_the_longest_window() -> None:
    # 6h plan at scale 1 and 1 s samples: 21,600 points plus a quarter and a few spare
    assert ring_capacity(21_600, 1.0, 1.0) == 27_016
    assert ring_capacity(21_600, 600.0, 0.1) == 466
    with pytest.raises(InputError, match="must all be > 0"):
        ring_capacity(600, 0, 1)


def test_the_catalog_longest_tripwire_window_is_the_6h_burn() -> None:
    assert longest_window_plan_seconds(load_catalog()) == 21_600


def _grow(store: SampleStore, seconds: range, series: int = 15) -> None:
    for second in seconds:
        for index in range(series):
            store.append_point(QUERY, {"series": str(index)}, T0 + second, float(second))


def test_memory_is_flat_once_the_rings_are_full(tmp_path: Path) -> None:
    store = SampleStore(capacity_per_series=200, path=tmp_path / "samples.log")
    _grow(store, range(200))  # fill every ring once
    tracemalloc.start()
    _grow(store, range(200, 400))
    after_one_more_window, _ = tracemalloc.get_traced_memory()
    _grow(store, range(400, 2000))  # eight more windows' worth
    after_nine, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    store.close()
    assert after_nine - after_one_more_window < 16 * 1024
    assert store.points_written == 15 * 2000
    assert store.series_in_memory == 15


def test_a_window_older_than_the_ring_is_read_back_from_disk(tmp_path: Path) -> None:
    store = SampleStore(capacity_per_series=50, path=tmp_path / "samples.log")
    _grow(store, range(500), series=2)
    found = store.window(QUERY, T0 + 100, T0 + 109)
    store.close()
    assert [len(s.points) for s in found] == [10, 10]
    assert found[0].points[0] == (T0 + 100, 100.0)


def test_without_a_log_an_old_window_is_what_the_ring_holds() -> None:
    store = SampleStore(capacity_per_series=50)
    _grow(store, range(500), series=1)
    (series,) = store.window(QUERY, T0, T0 + 1000)
    assert [at for at, _ in series.points] == [T0 + s for s in range(450, 500)]


def test_series_beyond_the_cap_live_on_disk_only(tmp_path: Path) -> None:
    store = SampleStore(capacity_per_series=20, path=tmp_path / "samples.log", max_series=3)
    _grow(store, range(10), series=5)
    assert (store.series_in_memory, store.series_known) == (3, 5)
    found = {s.labels["series"]: s.points for s in store.window(QUERY, T0, T0 + 10)}
    store.close()
    assert sorted(found) == ["0", "1", "2", "3", "4"]
    assert found["4"] == tuple((T0 + s, float(s)) for s in range(10))


def test_the_log_round_trips_and_tolerates_a_cut_last_line(tmp_path: Path) -> None:
    path = tmp_path / "samples.log"
    with SampleStore(capacity_per_series=8, path=path) as store:
        store.append(QUERY, T0 + 0.1, [Sample(labels={"tenant": "TENANT_001"}, value=0.3)])
        store.append(QUERY, T0 + 0.2, [Sample(labels={}, value=float("inf"))])
    with path.open("a", encoding="utf-8") as handle:
        handle.write("p 0 1800000000.3 0.")  # a crash in the middle of a write
    assert list(read_log(path)) == [
        (QUERY, {"tenant": "TENANT_001"}, T0 + 0.1, 0.3),
        (QUERY, {}, T0 + 0.2, float("inf")),
    ]
    path.write_text("p 7 1 2\n")
    with pytest.raises(InputError, match=r"samples.log:1 is malformed"):
        list(read_log(path))


def test_recorded_source_answers_instants_and_windows() -> None:
    store = SampleStore(capacity_per_series=8)
    _grow(store, range(12), series=2)
    source = RecordedSource(store)
    query = MetricQuery.of("mc_replication_lag_seconds", aggregation="max", tenant="TENANT_001")
    assert query.promql() == QUERY
    now = source.sample(query)
    assert (now.at, [s.value for s in now.samples]) == (T0 + 11, [11.0, 11.0])
    assert len(source.series(query, T0 + 10, T0 + 11).series[0].points) == 2


def test_store_for_profile_uses_scale_and_interval(tmp_path: Path) -> None:
    profile = TargetProfile.model_validate(
        {
            "name": "p",
            "environment": "staging",
            "allowed_hosts": ["127.0.0.1"],
            "time_scale": 600,
            "glb_url": "http://127.0.0.1:9",
            "metrics": {
                "sample_interval_seconds": 0.1,
                "endpoints": [{"component": "glb", "url": "http://127.0.0.1:9/metrics"}],
            },
            "regions": [{"id": "eu-west", "jurisdiction": "eu"}],
            "tenants": [
                {
                    "id": "TENANT_001",
                    "wave": "ga",
                    "residency": "eu",
                    "regions": ["eu-west"],
                    "slo_baseline": {"availability": 0.999, "latency_p95_ms": 250},
                }
            ],
        }
    )
    with store_for_profile(profile, load_catalog(), tmp_path / "m.log") as store:
        assert store.capacity_per_series == ring_capacity(21_600, 600, 0.1)
