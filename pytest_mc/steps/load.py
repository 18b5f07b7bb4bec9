"""Load steps: k6 drives a tenant's traffic through the GLB; its results become evidence."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, then, when

from pytest_mc.drivers.k6 import K6Driver
from pytest_mc.drivers.k6_models import UNIQUE_KEYS, K6Load, K6Result
from pytest_mc.fixtures import McEvidence
from pytest_mc.policy.crosscheck import check_stated
from pytest_mc.policy.timewindow import parse_duration
from pytest_mc.policy.verdict import Verdict
from pytest_mc.steps.context import ScenarioContext
from pytest_mc.steps.pacing import log_wait

# k6 virtual users for the rehearsal's load: enough to exercise both regions on 2 cores.
DEFAULT_VUS = 4
BACKGROUND_VUS = 2
# k6 takes about a second to start sending; a fault injected before that sees no traffic.
K6_WARMUP_SECONDS = 1.5


def _run(
    mc_k6: K6Driver,
    mc_evidence: McEvidence,
    mc_context: ScenarioContext,
    tmp_path_factory: pytest.TempPathFactory,
    tenant: str,
    load: K6Load,
) -> K6Result:
    work_dir = tmp_path_factory.mktemp("k6")
    result = mc_k6.run(tenant, load, work_dir=work_dir, run_id=mc_evidence.run_id)
    record_k6_run(mc_evidence, mc_context, tenant, result)
    return result


class BackgroundLoad:
    """A k6 run in a background thread; its evidence is recorded when it is joined, in the
    main thread (the evidence chain is appended from one thread per process)."""

    def __init__(self, mc_k6: K6Driver, tenant: str, load: K6Load, work_dir: Path, run_id: str):
        self.tenant = tenant
        self._result: K6Result | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(mc_k6, load, work_dir, run_id), name=f"k6-{tenant}", daemon=True
        )
        self._thread.start()

    def _run(self, mc_k6: K6Driver, load: K6Load, work_dir: Path, run_id: str) -> None:
        try:
            self._result = mc_k6.run(self.tenant, load, work_dir=work_dir, run_id=run_id)
        except BaseException as exc:  # handed to join(), never lost in the thread
            self._error = exc

    def join(self, timeout: float) -> K6Result:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"background k6 on {self.tenant} outlived its bound")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


@given(parsers.parse("k6 keeps traffic flowing on tenant {tenant} for {duration} of plan time"))
def background_traffic(
    request: pytest.FixtureRequest,
    mc_k6: K6Driver,
    mc_evidence: McEvidence,
    mc_context: ScenarioContext,
    tmp_path_factory: pytest.TempPathFactory,
    tenant: str,
    duration: str,
) -> None:
    load = K6Load.for_plan_duration(
        parse_duration(duration),
        time_scale=mc_evidence.time_scale,
        vus=BACKGROUND_VUS,
        keys=UNIQUE_KEYS,
    )
    log_wait(mc_evidence, f"background k6 on {tenant}", parse_duration(duration))
    running = BackgroundLoad(mc_k6, tenant, load, tmp_path_factory.mktemp("k6"), mc_evidence.run_id)

    def finish() -> None:
        result = running.join(timeout=load.duration_seconds + 120)
        record_k6_run(mc_evidence, mc_context, tenant, result)

    request.addfinalizer(finish)
    time.sleep(K6_WARMUP_SECONDS)


def record_k6_run(
    mc_evidence: McEvidence,
    mc_context: ScenarioContext,
    tenant: str,
    result: K6Result,
    *,
    label: str | None = None,
) -> None:
    """Record a k6 run as evidence: the tool run (version, binary sha256), the summary and k6's
    HTML report as artifacts (named after the tenant and `label`), and the run in the
    scenario context."""
    mc_evidence.tool_run(
        result.activity,
        tenant=tenant,
        version=result.binary.version,
        binary_sha256=result.binary.sha256,
    )
    mc_evidence.attach(
        result.summary_path,
        name=f"k6-summary-{tenant}{f'-{label}' if label else ''}.json",
        kind="k6-summary",
        tenant=tenant,
    )
    if result.report_path is not None:
        mc_evidence.attach(
            result.report_path,
            name=f"k6-report-{tenant}{f'-{label}' if label else ''}.html",
            kind="k6-report",
            tenant=tenant,
        )
    mc_context.k6_results.append(result)


@when(parsers.parse("k6 drives the traffic of tenant {tenant} for {duration} of plan time"))
def k6_for_plan_time(
    mc_k6: K6Driver,
    mc_evidence: McEvidence,
    mc_context: ScenarioContext,
    tmp_path_factory: pytest.TempPathFactory,
    tenant: str,
    duration: str,
) -> None:
    load = K6Load.for_plan_duration(
        parse_duration(duration), time_scale=mc_evidence.time_scale, vus=DEFAULT_VUS
    )
    log_wait(mc_evidence, f"k6 on {tenant}", parse_duration(duration))
    _run(mc_k6, mc_evidence, mc_context, tmp_path_factory, tenant, load)


@when(parsers.parse("k6 sends {requests:d} requests of tenant {tenant}'s traffic"))
def k6_request_count(
    mc_k6: K6Driver,
    mc_evidence: McEvidence,
    mc_context: ScenarioContext,
    tmp_path_factory: pytest.TempPathFactory,
    requests: int,
    tenant: str,
) -> None:
    # Bounded twice: by the count, and by a generous wall-clock limit for that count.
    load = K6Load(vus=DEFAULT_VUS, iterations=requests, duration_seconds=max(60.0, requests / 20))
    _run(mc_k6, mc_evidence, mc_context, tmp_path_factory, tenant, load)


@then("the k6 thresholds derived from the QI catalog held")
def k6_thresholds_held(mc_context: ScenarioContext) -> None:
    crossed = mc_context.last_k6.summary.crossed
    assert not crossed, "gate k6 thresholds crossed: " + "; ".join(
        f"{t.metric} {t.expression}" for t in crossed
    )


@then(parsers.parse("persisted-only compliance of tenant {tenant} is at least {stated}"))
def persisted_only_compliance(
    mc_evidence: McEvidence, mc_context: ScenarioContext, tenant: str, stated: str
) -> None:
    qi = mc_evidence.catalog.get("persisted_only_compliance")
    check_stated(qi, stated, where="the persisted-only step")
    summary = mc_context.last_k6.summary
    judgement = mc_evidence.measure(
        qi.id, summary.persisted, tenant=tenant, source="k6 summary (persisted / all requests)"
    )
    assert judgement.verdict == Verdict.PASS, f"gate {qi.id}: {judgement.reason}"
