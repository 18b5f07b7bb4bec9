"""A run split into k6 execution segments, as k6-operator splits a TestRun over its runner
pods, merged and judged as one: the same request count and the same verdicts as one process."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pytest

from pytest_mc.cli.main import main
from pytest_mc.drivers.k6 import K6Driver
from pytest_mc.drivers.k6_merge import run_segmented
from pytest_mc.drivers.k6_models import K6Load, K6Summary, K6Thresholds, ThresholdSpec
from pytest_mc.policy.catalog import QiCatalog
from pytest_mc.target.profile import TargetProfile

pytestmark = pytest.mark.integration

SEGMENTS = 3


class Staging(Protocol):
    profile: TargetProfile
    profile_path: Path
    catalog: QiCatalog


def _verdicts(summary: K6Summary) -> dict[tuple[str, str], bool]:
    return {(t.metric, t.expression): t.passed for t in summary.thresholds}


@pytest.mark.parametrize(
    ("tenant", "adhoc_share", "latency_bound"),
    [
        # every threshold passes: persisted traffic, a latency bound far above the staging's
        ("TENANT_001", 0.0, None),
        # ad-hoc queries to a persisted-only tenant: crossed
        ("TENANT_004", 0.3, None),
        # and a latency bound no request meets: both crossed, the availability bound passed
        ("TENANT_004", 0.3, 0.001),
    ],
)
def test_segmented_runs_merge_into_the_verdicts_of_one_run(
    reference_staging: Staging,
    tmp_path: Path,
    tenant: str,
    adhoc_share: float,
    latency_bound: float | None,
) -> None:
    driver = K6Driver(reference_staging.profile, reference_staging.catalog)
    thresholds = driver.thresholds(tenant)
    if latency_bound is not None:
        thresholds = K6Thresholds(
            items=tuple(
                ThresholdSpec(
                    metric=spec.metric, expression=f"p(95)<={latency_bound:g}", source="test"
                )
                if spec.metric == "http_req_duration"
                else spec
                for spec in thresholds.items
            )
        )
    load = K6Load(vus=SEGMENTS, iterations=240, duration_seconds=30, adhoc_share=adhoc_share)
    single = driver.run(
        tenant, load, work_dir=tmp_path / "one", run_id="one", thresholds=thresholds
    )
    split = run_segmented(
        driver,
        tenant,
        load,
        parallelism=SEGMENTS,
        work_dir=tmp_path / "split",
        run_id="split",
        thresholds=thresholds,
    )

    # the segments share the iterations out exactly, as the operator's pods would
    assert [run.summary.requests for run in split.segments] == [80, 80, 80]
    assert split.merged.requests == single.summary.requests == 240
    assert split.merged.latency_timed == single.summary.latency_timed == 240
    # judged by the suite over the merged counts, as k6 judged the one process
    assert _verdicts(split.merged) == _verdicts(single.summary)
    assert split.thresholds_crossed == single.thresholds_crossed == (adhoc_share > 0)
    # each process ran its own segment of the same sequence
    flags = [run.activity.argv for run in split.segments]
    assert [argv[argv.index("--execution-segment") + 1] for argv in flags] == [
        "0:1/3",
        "1/3:2/3",
        "2/3:1",
    ]
    assert {argv[argv.index("--execution-segment-sequence") + 1] for argv in flags} == {
        "0,1/3,2/3,1"
    }
    if latency_bound is None:  # the runners' summaries, judged as the operator's would be
        code = main(
            [
                "k6",
                "merge",
                "--target",
                str(reference_staging.profile_path),
                "--tenant",
                tenant,
                *(str(run.summary_path) for run in split.segments),
            ]
        )
        assert code == (1 if split.thresholds_crossed else 0)
