"""Several pytest-xdist workers append to ONE chain: no record lost or interleaved, every
scenario started and finished in the chain, seq contiguous, and the bundle verifies."""

from __future__ import annotations

import pytest
from plugin_helpers import BUNDLE_NAME, STEPS, RunSuite, hook_calls

from pytest_mc.evidence.bundle import read_bundle
from pytest_mc.evidence.records import (
    Measurement,
    RunFinished,
    RunStarted,
    ScenarioFinished,
    ScenarioStarted,
)
from pytest_mc.evidence.signing import generate_signing_key, load_trusted_keys
from pytest_mc.evidence.verify import verify_bundle
from pytest_mc.policy.catalog import load_catalog

OUTLINE = """\
Feature: Lag across many samples
  Scenario Outline: Lag sample <sample>
    Given a replication lag of <seconds> seconds for <tenant>

    Examples:
      | sample | seconds | tenant     |
{rows}
"""
SAMPLES = 12


def test_two_workers_write_one_chain_without_losing_or_interleaving(
    project: pytest.Pytester, run_suite: RunSuite
) -> None:
    rows = "\n".join(f"      | {n} | {30 + n} | TENANT_004 |" for n in range(SAMPLES))
    project.makefile(".feature", outline=OUTLINE.format(rows=rows))
    project.makepyfile(test_lag=STEPS + '\nscenarios("outline.feature")\n')

    generate_signing_key(project.path / "key.pem")

    result = run_suite("-p", "xdist.plugin", "-n", "2", "--mc-signing-key", "key.pem")

    result.assert_outcomes(passed=3 + SAMPLES)
    bundle_path = project.path / "dist" / BUNDLE_NAME
    trusted = load_trusted_keys([project.path / "key.pub.pem"])
    report = verify_bundle(bundle_path, load_catalog(), trusted=trusted)
    (chain,) = read_bundle(bundle_path).chains
    records = chain.records
    assert report.records == len(records)
    assert [record.seq for record in records] == list(range(len(records)))
    assert isinstance(records[0].body, RunStarted)
    assert isinstance(records[-1].body, RunFinished)
    assert records[0].writer == records[-1].writer == "controller"
    scenario_writers = {r.writer for r in records if isinstance(r.body, ScenarioStarted)}
    assert scenario_writers == {"gw0", "gw1"}

    started: dict[str, int] = {}
    finished: dict[str, int] = {}
    for record in records:
        body = record.body
        if isinstance(body, ScenarioStarted):
            assert body.nodeid not in started, f"{body.nodeid} started twice"
            started[body.nodeid] = record.seq
        elif isinstance(body, ScenarioFinished):
            assert body.nodeid not in finished, f"{body.nodeid} finished twice"
            finished[body.nodeid] = record.seq
    assert len(started) == 3 + SAMPLES
    assert started.keys() == finished.keys()
    by_nodeid = {r.body.nodeid: r for r in records if isinstance(r.body, ScenarioStarted)}
    for record in records:
        if isinstance(record.body, Measurement):
            nodeid = record.body.nodeid
            assert nodeid is not None
            # Recorded by the worker running the scenario, between its start and finish.
            assert started[nodeid] < record.seq < finished[nodeid]
            assert record.writer == by_nodeid[nodeid].writer
    outline_values = sorted(
        m.value
        for m in read_bundle(bundle_path).tenants["TENANT_004"].measurements
        if m.nodeid and "::test_lag_sample" in m.nodeid
    )
    assert outline_values == [30.0 + n for n in range(SAMPLES)]
    assert len([c for c in hook_calls(project) if c["hook"] == "bundle"]) == 1
