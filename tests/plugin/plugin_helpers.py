"""What the plugin tests write into their pytester projects, and how they read results back."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

PROFILE = """\
name: test-staging
environment: staging
allowed_hosts: ["127.0.0.1"]
time_scale: 600
glb_url: "http://127.0.0.1:9"
metrics:
  source: scrape
  sample_interval_seconds: 0.1
  endpoints: [{component: glb, url: "http://127.0.0.1:9/metrics"}]
regions:
  - {id: eu-west, jurisdiction: eu}
  - {id: eu-central, jurisdiction: eu}
  - {id: us-east, jurisdiction: us}
tenants:
  - id: TENANT_004
    wave: A
    residency: eu
    regions: [eu-west, eu-central]
    slo_baseline: {availability: 0.999, latency_p95_ms: 250}
"""

FEATURE = """\
@plan:A.2
Feature: Replication lag evidence
  Lag is judged against the QI catalog and kept as evidence per tenant.

  @tenant:TENANT_004
  Scenario: Lag within bound
    Given a replication lag of 42 seconds for TENANT_004
    Then the measurement is recorded as "pass"
    And the k6 summary is attached for TENANT_004

  @tenant:TENANT_004
  Scenario: Lag beyond bound
    Given a replication lag of 75 seconds for TENANT_004
    Then the measurement is recorded as "fail"

  @tenant:TENANT_004
  Scenario: The lag tripwire biases the GLB in time
    Given no P1 incident for TENANT_004
    Then the lag tripwire fired and the GLB was biased for TENANT_004
"""

STEPS = """\
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pytest_bdd import given, parsers, scenarios, then

scenarios("lag.feature")


@given(
    parsers.parse("a replication lag of {seconds:d} seconds for {tenant}"),
    target_fixture="judgement",
)
def _lag(mc_evidence, seconds, tenant):
    return mc_evidence.measure("replication_lag", seconds, tenant=tenant, source="scrape")


@given(parsers.parse("no P1 incident for {tenant}"))
def _no_p1(mc_evidence, tenant):
    mc_evidence.measure("p1_incidents", 0, tenant=tenant, source="incident log")


@given(parsers.parse("a measurement of unknown QI {qi_id} for {tenant}"))
def _unknown(mc_evidence, qi_id, tenant):
    mc_evidence.measure(qi_id, 1.0, tenant=tenant, source="step")


@then(parsers.parse('the measurement is recorded as "{verdict}"'))
def _verdict(judgement, verdict):
    assert judgement.verdict.value == verdict, judgement.reason


@then(parsers.parse("the k6 summary is attached for {tenant}"))
def _attach(mc_evidence, tenant, tmp_path):
    summary = tmp_path / "summary.json"
    summary.write_text('{"p95_ms": 180}')
    mc_evidence.attach(summary, name="k6-summary.json", kind="k6-summary", tenant=tenant)


@then(parsers.parse("the lag tripwire fired and the GLB was biased for {tenant}"))
def _tripwire(mc_evidence, tenant):
    seen = datetime.now(UTC)
    observation = mc_evidence.tripwire(
        "tripwire_replication_lag",
        tenant=tenant,
        condition="lag > 60s for 10m",
        condition_seen_at=seen,
        action_observed="bias_glb",
        action_observed_at=seen + timedelta(seconds=0.05),
        deadline_seconds=120,
    )
    assert observation.verdict.value == "pass"
"""

HOOK_LOGGER = """\
import json


def _log(config, **fields):
    with open(config.rootpath / "hooks.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(fields) + "\\n")


def pytest_mc_measurement_recorded(config, record, measurement):
    _log(config, hook="measurement", seq=record.seq, qi_id=measurement.qi_id,
         verdict=measurement.verdict.value)


def pytest_mc_tripwire_observed(config, record, observation):
    _log(config, hook="tripwire", seq=record.seq, qi_id=observation.qi_id)


def pytest_mc_scenario_evidence_complete(config, nodeid, tenant, outcome):
    _log(config, hook="scenario", nodeid=nodeid, tenant=tenant, outcome=outcome)


def pytest_mc_bundle_written(config, path, bundle):
    _log(config, hook="bundle", path=str(path), tenants=sorted(bundle.tenants))
"""

REPO = Path(__file__).resolve().parents[2]
BUNDLE_SCHEMA = REPO / "schemas" / "evidence-bundle.schema.json"
BUNDLE_NAME = "evidence-v0.3.1-mc.json"

RunSuite = Callable[..., pytest.RunResult]


def hook_calls(project: pytest.Pytester) -> list[dict[str, object]]:
    log = project.path / "hooks.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
