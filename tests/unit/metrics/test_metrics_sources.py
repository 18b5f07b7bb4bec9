"""Both metric sources behind one interface: exposition parsing, the query model, PromQL."""

from __future__ import annotations

import json
import math
import re
import threading
import time
from urllib.parse import parse_qs

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from pytest_mc.errors import InputError, TargetError, UnreachableError
from pytest_mc.metrics.prometheus import MAX_POINTS_PER_REQUEST, PrometheusSource
from pytest_mc.metrics.scrape import (
    ExpositionError,
    ScrapeRecorder,
    ScrapeSource,
    closing_sample,
    parse_exposition,
)
from pytest_mc.metrics.source import LabelMatcher, MetricQuery, MetricSource, Sample, aggregate
from pytest_mc.metrics.store import SampleStore
from pytest_mc.target.profile import MetricEndpoint

WEST = 'source_region="eu-central",target_region="eu-west"'
CENTRAL = 'source_region="eu-west",target_region="eu-central"'
PUT = 'route="put_entity",code="200",persisted="true"'
LAG_TEXT = f"""\
# HELP mc_replication_lag_seconds Lag into the target region
# TYPE mc_replication_lag_seconds gauge
mc_replication_lag_seconds{{tenant="TENANT_001",{WEST}}} 0.25
mc_replication_lag_seconds{{tenant="TENANT_002",{WEST}}} 0.0
mc_requests_total{{tenant="TENANT_001",region="eu-west",{PUT}}} 41
"""
CENTRAL_TEXT = f"""\
mc_replication_lag_seconds{{tenant="TENANT_001",{CENTRAL}}} 0.75
mc_requests_total{{tenant="TENANT_001",region="eu-central",{PUT}}} 9
"""


# ------------------------------------------------------------------ exposition text


def test_parses_what_prometheus_client_exposes() -> None:
    registry = CollectorRegistry()
    gauge = Gauge("mc_lag_seconds", "lag", ["tenant", "note"], registry=registry)
    gauge.labels("TENANT_001", 'say "hi"\\ \nbye').set(1.5)
    gauge.labels("TENANT_002", "").set(float("nan"))
    Counter("mc_writes", "writes", ["tenant"], registry=registry).labels("TENANT_001").inc(3)
    Histogram("mc_latency_seconds", "lat", buckets=(0.1,), registry=registry).observe(0.05)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for s in parse_exposition(generate_latest(registry).decode())
    }
    assert (
        samples[("mc_lag_seconds", (("note", 'say "hi"\\ \nbye'), ("tenant", "TENANT_001")))] == 1.5
    )
    assert math.isnan(samples[("mc_lag_seconds", (("note", ""), ("tenant", "TENANT_002")))])
    assert samples[("mc_writes_total", (("tenant", "TENANT_001"),))] == 3.0
    assert samples[("mc_latency_seconds_bucket", (("le", "+Inf"),))] == 1.0
    assert samples[("mc_latency_seconds_count", ())] == 1.0


def test_parses_infinities_timestamps_and_bare_names() -> None:
    samples = parse_exposition('up 1 1712345678000\nx{a="1",} +Inf\ny -Inf\n# EOF\n')
    assert [(s.name, s.labels, s.value) for s in samples] == [
        ("up", {}, 1.0),
        ("x", {"a": "1"}, math.inf),
        ("y", {}, -math.inf),
    ]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('ok 1\nbad{a="1" 2\n', "line 2: label without '='"),
        ('bad{a="1} 2\n', "line 1: unterminated label value"),
        ("ok 1\nlonely\n", "line 2: expected 'name[{labels}] value [ts]'"),
        ("ok one\n", "line 1: value 'one' is not a number"),
        ("x{a=1} 2\n", "line 1: label value must be double-quoted"),
    ],
)
def test_malformed_exposition_names_the_line(text: str, why: str) -> None:
    with pytest.raises(ExpositionError, match=re.escape(why)):
        parse_exposition(text)


# ------------------------------------------------------------------ query model


def test_query_model_renders_promql() -> None:
    query = MetricQuery(
        metric="mc_requests_total",
        matchers=(
            LabelMatcher(label="tenant", value="TENANT_001"),
            LabelMatcher(label="code", op="=~", value="5.."),
            LabelMatcher(label="note", op="!=", value='a"b'),
        ),
        aggregation="sum",
        by=("region", "tenant", "region"),
    )
    assert query.promql() == (
        'sum by (region,tenant) (mc_requests_total{tenant="TENANT_001",code=~"5..",note!="a\\"b"})'
    )
    assert query.selector().promql() == (
        'mc_requests_total{tenant="TENANT_001",code=~"5..",note!="a\\"b"}'
    )
    assert MetricQuery.of("up", aggregation="max").promql() == "max (up)"


def test_matchers_are_anchored_and_a_missing_label_is_empty() -> None:
    five_xx = LabelMatcher(label="code", op="=~", value="5..")
    assert five_xx.matches({"code": "503"})
    assert not five_xx.matches({"code": "5030"})
    assert LabelMatcher(label="shard", value="").matches({})
    assert LabelMatcher(label="shard", op="!~", value=".+").matches({})


def test_query_model_refuses_what_promql_would_refuse() -> None:
    with pytest.raises(ValueError, match="needs an aggregation"):
        MetricQuery(metric="up", by=("tenant",))
    with pytest.raises(ValueError, match="String should match pattern"):
        MetricQuery(metric="bad-name")
    with pytest.raises(ValueError, match="matcher code=~'\\('"):
        LabelMatcher(label="code", op="=~", value="(")


def test_aggregation_groups_by_labels() -> None:
    samples = [
        Sample(labels={"tenant": "A", "region": "x"}, value=1.0),
        Sample(labels={"tenant": "A", "region": "y"}, value=4.0),
        Sample(labels={"tenant": "B", "region": "x"}, value=2.0),
    ]
    by_tenant = aggregate(MetricQuery.of("m", aggregation="max", by=["tenant"]), samples)
    assert [(s.labels, s.value) for s in by_tenant] == [
        ({"tenant": "A"}, 4.0),
        ({"tenant": "B"}, 2.0),
    ]
    assert [s.value for s in aggregate(MetricQuery.of("m", aggregation="sum"), samples)] == [7.0]
    assert aggregate(MetricQuery.of("m", aggregation="sum"), []) == ()


# ------------------------------------------------------------------ scrape source


def _endpoints() -> list[MetricEndpoint]:
    return [
        MetricEndpoint(component="region-eu-west", url="http://127.0.0.1:1/metrics"),
        MetricEndpoint(component="region-eu-central", url="http://127.0.0.1:2/metrics"),
    ]


def _scrape_source(
    bodies: dict[int, str | None], store: SampleStore | None = None, now: float = 1000.0
) -> tuple[ScrapeSource, list[str]]:
    requested: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        body = bodies[request.url.port or 0]
        if body is None:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, text=body)

    source = ScrapeSource(
        _endpoints(), store=store, transport=httpx.MockTransport(handler), clock=lambda: now
    )
    return source, requested


def test_one_scrape_answers_many_queries_at_the_same_instant() -> None:
    source, requested = _scrape_source({1: LAG_TEXT, 2: CENTRAL_TEXT})
    assert isinstance(source, MetricSource)
    worst, requests, per_tenant = source.sample_many(
        [
            MetricQuery.of("mc_replication_lag_seconds", aggregation="max", tenant="TENANT_001"),
            MetricQuery.of("mc_requests_total", aggregation="sum", tenant="TENANT_001"),
            MetricQuery.of("mc_replication_lag_seconds", aggregation="max", by=["tenant"]),
        ]
    )
    source.close()
    assert len(requested) == 2  # one request per endpoint for all three queries
    assert (worst.single(), requests.single(), worst.at, requests.at) == (
        0.75,
        50.0,
        1000.0,
        1000.0,
    )
    assert [(s.labels["tenant"], s.value) for s in per_tenant.samples] == [
        ("TENANT_001", 0.75),
        ("TENANT_002", 0.0),
    ]
    assert worst.source == "scrape"


def test_a_silent_endpoint_drops_its_series_only() -> None:
    source, _ = _scrape_source({1: LAG_TEXT, 2: None})
    scrape = source.scrape()
    answer = scrape.answer(MetricQuery.of("mc_requests_total", aggregation="sum"))
    source.close()
    assert answer.single() == 41.0
    down = [e for e in scrape.endpoints if not e.up]
    assert [(e.component, e.samples) for e in down] == [("region-eu-central", 0)]
    assert "ConnectError" in (down[0].error or "")


def test_no_endpoint_answering_is_unreachable() -> None:
    source, _ = _scrape_source({1: None, 2: None})
    with pytest.raises(UnreachableError, match=r"no metrics endpoint answered \(first: region-eu"):
        source.scrape()
    source.close()


def test_an_endpoint_serving_something_else_is_a_target_error() -> None:
    source, _ = _scrape_source({1: "<html>oops</html>\n", 2: CENTRAL_TEXT})
    with pytest.raises(TargetError, match=r"region-eu-west .* does not serve Prometheus text"):
        source.scrape()
    source.close()


def test_windows_come_from_what_was_recorded() -> None:
    store = SampleStore(capacity_per_series=64)
    lag = MetricQuery.of("mc_replication_lag_seconds", aggregation="max", tenant="TENANT_001")
    source, _ = _scrape_source({1: LAG_TEXT, 2: CENTRAL_TEXT}, store=store)
    source.record([lag])
    found = source.series(lag, 0, 2000)
    with pytest.raises(InputError, match="was never recorded by the scrape source"):
        source.series(MetricQuery.of("mc_writes_total"), 0, 2000)
    source.close()
    assert [s.points for s in found.series] == [((1000.0, 0.75),)]


# ------------------------------------------------------------------ Prometheus source


def _prometheus(handler: httpx.MockTransport, now: float = 5000.0) -> PrometheusSource:
    return PrometheusSource(
        "http://127.0.0.1:9090/", step_seconds=0.5, transport=handler, clock=lambda: now
    )


def _ok(result_type: str, result: list[object]) -> httpx.Response:
    return httpx.Response(
        200, json={"status": "success", "data": {"resultType": result_type, "result": result}}
    )


def test_instant_queries_are_promql_at_one_time_without_target_labels() -> None:
    seen: list[dict[str, list[str]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/query"
        seen.append(parse_qs(request.url.query.decode()))
        return _ok(
            "vector",
            [
                {
                    "metric": {"__name__": "up", "job": "glb", "instance": "x", "tenant": "T"},
                    "value": [5000.0, "NaN"],
                },
                {"metric": {"tenant": "U"}, "value": [5000.0, "2.5"]},
            ],
        )

    source = _prometheus(httpx.MockTransport(handler))
    first, second = source.sample_many(
        [MetricQuery.of("up", tenant="T"), MetricQuery.of("mc_writes_total", aggregation="sum")]
    )
    source.close()
    assert [q["query"] for q in seen] == [['up{tenant="T"}'], ["sum (mc_writes_total)"]]
    assert {q["time"][0] for q in seen} == {"5000.0"}
    assert first.samples[0].labels == {"tenant": "T"}
    assert math.isnan(first.samples[0].value)
    assert first.source == "prometheus"
    assert second.samples[1].value == 2.5


def test_range_queries_are_split_below_the_point_limit_and_merged() -> None:
    calls: list[tuple[float, float, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        params = parse_qs(request.url.query.decode())
        start, end, step = (float(params[k][0]) for k in ("start", "end", "step"))
        calls.append((start, end, step))
        count = round((end - start) / step) + 1
        values = [[start + i * step, str(start + i * step)] for i in range(count)]
        return _ok("matrix", [{"metric": {"job": "r", "tenant": "T"}, "values": values}])

    source = _prometheus(httpx.MockTransport(handler))
    window = MAX_POINTS_PER_REQUEST * 0.5 * 2.5  # two and a half chunks of points
    found = source.series(MetricQuery.of("lag", tenant="T"), 100.0, 100.0 + window)
    source.close()
    assert len(calls) == 3
    assert all(
        round((end - start) / step) + 1 <= MAX_POINTS_PER_REQUEST for start, end, step in calls
    )
    (series,) = found.series
    times = [at for at, _ in series.points]
    assert times == sorted(set(times))
    assert len(times) == round(window / 0.5) + 1
    assert series.labels == {"tenant": "T"}


def test_prometheus_errors_map_to_the_exit_code_scheme() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        body = {"status": "error", "errorType": "bad_data", "error": "parse error at char 3"}
        return httpx.Response(400, text=json.dumps(body))

    with pytest.raises(InputError, match=r"Prometheus refused .* bad_data: parse error at char 3"):
        _prometheus(httpx.MockTransport(refuse)).sample(MetricQuery.of("up"))

    def not_prometheus(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>grafana</html>")

    with pytest.raises(UnreachableError, match="is not a Prometheus API response"):
        _prometheus(httpx.MockTransport(not_prometheus)).sample(MetricQuery.of("up"))

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    answer = re.escape("Prometheus at http://127.0.0.1:9090 does not answer")
    with pytest.raises(UnreachableError, match=answer):
        _prometheus(httpx.MockTransport(down)).series(MetricQuery.of("up"), 0, 10)


def test_extra_matchers_narrow_every_selector() -> None:
    source = PrometheusSource(
        "http://127.0.0.1:9090",
        step_seconds=1,
        extra_matchers=(LabelMatcher(label="job", op="=~", value="mc-.*"),),
    )
    query = MetricQuery.of("mc_writes_total", aggregation="sum", tenant="T")
    assert source.promql(query) == 'sum (mc_writes_total{tenant="T",job=~"mc-.*"})'
    source.close()


def test_the_recorder_keeps_going_through_failed_scrapes() -> None:
    store = SampleStore(capacity_per_series=1000)
    lag = MetricQuery.of("mc_replication_lag_seconds", aggregation="max")
    answers = iter([LAG_TEXT, None, None] * 1000)
    bodies: dict[int, str | None] = {1: LAG_TEXT, 2: None}

    def handler(request: httpx.Request) -> httpx.Response:
        body = next(answers) if request.url.port == 1 else bodies[2]
        if body is None:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, text=body)

    source = ScrapeSource(_endpoints(), store=store, transport=httpx.MockTransport(handler))
    recorder = ScrapeRecorder(source, [lag], interval_seconds=0.01)
    assert source.series(lag, 0, math.inf).series == ()  # watched, nothing recorded yet
    with recorder:
        deadline = time.monotonic() + 30
        while (recorder.scrapes < 3 or recorder.failed_scrapes < 3) and time.monotonic() < deadline:
            time.sleep(0.01)
    source.close()
    assert recorder.scrapes >= 3
    assert recorder.failed_scrapes >= 3
    assert "no metrics endpoint answered" in (recorder.last_error or "")
    (series,) = source.series(lag, 0, math.inf).series
    assert len(series.points) == recorder.scrapes
    assert {value for _, value in series.points} == {0.25}


def test_waiting_for_a_sample_waits_out_a_slow_scrape() -> None:
    """A window judged at its end waits for a scrape taken at or after the end, however late."""
    store = SampleStore(capacity_per_series=1000)
    lag = MetricQuery.of("mc_replication_lag_seconds", aggregation="max")
    slow = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        if slow.is_set():
            time.sleep(0.3)  # a scrape that runs long, as on a busy machine
        return httpx.Response(200, text=LAG_TEXT if request.url.port == 1 else CENTRAL_TEXT)

    source = ScrapeSource(_endpoints(), store=store, transport=httpx.MockTransport(handler))
    with ScrapeRecorder(source, [lag], interval_seconds=0.05) as recorder:
        slow.set()
        end = time.time()
        assert recorder.wait_for_sample(end, timeout_seconds=10)
        assert recorder.last_sample_at is not None
        assert recorder.last_sample_at >= end
        (series,) = source.series(lag, end, math.inf).series
        assert series.points
        assert not recorder.wait_for_sample(time.time() + 60, timeout_seconds=0.2)
    assert not recorder.wait_for_sample(time.time(), timeout_seconds=5)  # stopped: no wait
    source.close()


def test_a_window_closes_at_the_first_scrape_at_or_after_its_end() -> None:
    store = SampleStore(capacity_per_series=1000)
    lag = MetricQuery.of("mc_replication_lag_seconds", aggregation="max")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=LAG_TEXT if request.url.port == 1 else CENTRAL_TEXT)

    source = ScrapeSource(_endpoints(), store=store, transport=httpx.MockTransport(handler))
    with ScrapeRecorder(source, [lag], interval_seconds=0.05) as recorder:
        end = time.time() + 0.2
        closed = closing_sample(recorder, end)
        (series,) = source.series(lag, end - 1, math.inf).series
        assert closed >= end
        assert closed in {taken for taken, _ in series.points}  # a real sample, the first after
        assert all(taken < end or taken >= closed for taken, _ in series.points)
    # a stopped recorder closes the window where it ends
    assert closing_sample(recorder, time.time() + 1) > 0
    source.close()
