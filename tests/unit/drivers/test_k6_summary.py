"""Parsing k6's --summary-export: inverted threshold booleans, http_req_failed counting.

The data files are summaries written by real k6 1.1.0 runs of k6/tenant-traffic.js against
the reference staging: `crossed` against a tenant with an injected 5% error rate and a 2%
ad-hoc share, `passed` with persisted traffic only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_mc.drivers.k6_models import K6Thresholds, ThresholdSpec, parse_summary
from pytest_mc.errors import InputError
from pytest_mc.policy.verdict import Ratio

DATA = Path(__file__).parent / "data"
CROSSED = DATA / "k6-summary-crossed.json"
PASSED = DATA / "k6-summary-passed.json"


def test_a_true_threshold_in_the_export_is_a_crossed_threshold() -> None:
    summary = parse_summary(CROSSED)
    by_metric = {result.metric: result for result in summary.thresholds}
    # The file says {"rate<=0.001": true} for both rates and false for the latency.
    assert by_metric["http_req_failed"].passed is False
    assert by_metric["mc_non_persisted"].passed is False
    assert by_metric["http_req_duration"].passed is True
    assert not summary.thresholds_passed
    assert {result.metric for result in summary.crossed} == {"http_req_failed", "mc_non_persisted"}


def test_a_false_threshold_in_the_export_is_a_passed_threshold() -> None:
    summary = parse_summary(PASSED)
    assert len(summary.thresholds) == 3
    assert summary.thresholds_passed
    assert summary.crossed == ()


def test_http_req_failed_passes_are_the_failed_requests() -> None:
    raw = json.loads(CROSSED.read_text())["metrics"]["http_req_failed"]
    assert (raw["passes"], raw["fails"]) == (12, 195)  # what k6 wrote
    summary = parse_summary(CROSSED)
    assert summary.requests == 207
    assert summary.failed_requests == 12
    assert summary.availability == Ratio(events=195, trials=207)


def test_persisted_and_adhoc_counts_come_from_the_non_persisted_rate() -> None:
    summary = parse_summary(CROSSED)
    assert (summary.persisted_requests, summary.adhoc_requests) == (201, 6)
    assert summary.persisted == Ratio(events=201, trials=207)
    # The tenant is persisted-only: every ad-hoc query was refused with 403 persisted_only.
    assert summary.adhoc_refused == 6
    assert summary.checks_failed == 12


def test_counters_k6_left_out_because_they_never_moved_read_as_zero() -> None:
    raw = json.loads(PASSED.read_text())["metrics"]
    assert "mc_adhoc_refused" not in raw
    summary = parse_summary(PASSED)
    assert summary.adhoc_refused == 0
    assert summary.denied_requests == 0
    assert summary.persisted == Ratio(events=300, trials=300)
    assert summary.availability == Ratio(events=300, trials=300)


def test_latency_percentiles_are_read_in_milliseconds() -> None:
    summary = parse_summary(CROSSED)
    raw = json.loads(CROSSED.read_text())["metrics"]["http_req_duration"]
    assert summary.p95_ms == raw["p(95)"]
    assert summary.latency_ms is not None
    assert summary.latency_ms.p99 == raw["p(99)"]


def test_threshold_results_name_the_policy_source_they_were_derived_from() -> None:
    given = K6Thresholds(
        items=(
            ThresholdSpec(
                metric="mc_non_persisted",
                expression="rate<=0.001",
                source="qi:persisted_only_compliance",
            ),
        )
    )
    by_metric = {result.metric: result for result in parse_summary(CROSSED, given).thresholds}
    assert by_metric["mc_non_persisted"].source == "qi:persisted_only_compliance"
    assert by_metric["http_req_failed"].source is None


def test_a_run_without_requests_has_zero_volume_not_missing_counts(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"root_group": {}, "metrics": {"vus": {"value": 1}}}))
    summary = parse_summary(path)
    assert summary.requests == 0
    assert summary.persisted == Ratio(events=0, trials=0)
    assert summary.latency_ms is None


def test_requests_from_a_script_without_the_rate_leave_persisted_unknown(tmp_path: Path) -> None:
    path = tmp_path / "foreign.json"
    path.write_text(json.dumps({"metrics": {"http_reqs": {"count": 5, "rate": 1.0}}}))
    summary = parse_summary(path)
    assert summary.requests == 5
    assert summary.persisted is None


def test_a_file_that_is_not_a_summary_export_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"state": {}}))
    with pytest.raises(InputError, match=r"other\.json is not a k6 --summary-export file"):
        parse_summary(path)


def test_a_missing_summary_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read k6 summary"):
        parse_summary(tmp_path / "absent.json")
