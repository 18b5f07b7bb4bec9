"""Debian's Prometheus on loopback scraping a reference staging: both sources, same verdicts.

The staging here runs at time_scale 120 (10m plan = 5 s wall) rather than the rehearsal
default 600 (1 s wall): with a 5 s window each source holds dozens of samples, so agreement is
decided by the lag, not by which source happened to catch the fifth sample of a 1 s window.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from metrics_traffic import TENANT, Faults, steady_writes

from pytest_mc.drivers.runner import stop_group
from pytest_mc.metrics.evaluator import WindowEvaluator, WindowResult, WindowStatus
from pytest_mc.metrics.factory import evaluator_for, open_metric_source, store_for_profile
from pytest_mc.metrics.prometheus import PrometheusSource
from pytest_mc.metrics.scrape import ScrapeRecorder, ScrapeSource
from pytest_mc.metrics.source import MetricQuery
from pytest_mc.policy.catalog import QiCatalog, QiDefinition, load_catalog
from pytest_mc.target.loader import load_profile
from pytest_mc.target.local import LocalStaging, start_local_staging, stop_local_staging
from pytest_mc.target.profile import TargetProfile

pytestmark = pytest.mark.integration

TIME_SCALE = 120.0
SCRAPE_INTERVAL = "250ms"
LAG = MetricQuery.of("mc_replication_lag_seconds", aggregation="max", tenant=TENANT)
PROMETHEUS = shutil.which("prometheus")


@dataclass(frozen=True)
class Staging:
    profile: TargetProfile
    catalog: QiCatalog
    secret: str


@pytest.fixture(scope="module")
def staging_x120(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Staging]:
    if PROMETHEUS is None:
        pytest.skip(
            "the 'prometheus' binary is not installed (Debian: apt-get install prometheus; "
            "./tasks setup installs it when run as root)"
        )
    state_dir = tmp_path_factory.mktemp("staging-x120")
    local: LocalStaging = start_local_staging(state_dir, time_scale=TIME_SCALE)
    try:
        catalog = load_catalog()
        profile = load_profile(local.profile_path, catalog)
        assert profile.admin is not None
        assert profile.admin.token_file is not None
        secret = profile.admin.token_file.read_text().strip()
        yield Staging(profile=profile, catalog=catalog, secret=secret)
    finally:
        stop_local_staging(local)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _prometheus_config(profile: TargetProfile) -> dict[str, object]:
    jobs: list[dict[str, object]] = []
    for endpoint in profile.metrics.endpoints:
        url = urlsplit(endpoint.url)
        jobs.append(
            {
                "job_name": endpoint.component,
                "metrics_path": url.path or "/metrics",
                "scrape_interval": SCRAPE_INTERVAL,
                "scrape_timeout": SCRAPE_INTERVAL,
                "static_configs": [{"targets": [url.netloc]}],
            }
        )
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": "1s"},
        "scrape_configs": jobs,
    }


@pytest.fixture(scope="module")
def prometheus_url(
    staging_x120: Staging, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    assert PROMETHEUS is not None
    workdir = tmp_path_factory.mktemp("prometheus")
    config = workdir / "prometheus.yml"
    config.write_text(yaml.safe_dump(_prometheus_config(staging_x120.profile)))
    port = _free_port()
    log = (workdir / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group, stopped by its pid below
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (workdir / "prometheus.log").read_text()
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "prometheus did not become ready"
            time.sleep(0.2)
        yield url
    finally:
        stop_group(process)
        log.close()
        assert process.poll() is not None


def _both_at(
    at: float, evaluators: dict[str, WindowEvaluator], qi: QiDefinition
) -> dict[str, WindowResult]:
    # Prometheus ingests a scrape a moment after it happens: judge `at` once it is in the past
    time.sleep(max(0.0, at + 1.0 - time.time()))
    return {
        name: evaluator.sustained_for_qi(qi, LAG, values="wall_seconds", at=at)
        for name, evaluator in evaluators.items()
    }


def test_scrape_and_prometheus_give_the_same_lag_verdicts_on_one_run(
    staging_x120: Staging, prometheus_url: str, tmp_path: Path
) -> None:
    profile = staging_x120.profile
    lag_qi = staging_x120.catalog.get("tripwire_replication_lag")
    store = store_for_profile(profile, staging_x120.catalog, tmp_path / "samples.log")
    scrape = open_metric_source(profile, store)
    assert isinstance(scrape, ScrapeSource)
    prometheus = PrometheusSource(
        prometheus_url, step_seconds=profile.metrics.sample_interval_seconds
    )
    evaluators = {
        "scrape": evaluator_for(profile, scrape),
        "prometheus": evaluator_for(profile, prometheus),
    }
    window_wall = 600.0 / TIME_SCALE  # 5 s
    faults = Faults(profile, staging_x120.secret)
    checkpoints: dict[str, dict[str, WindowResult]] = {}
    recorder = ScrapeRecorder(scrape, [LAG], profile.metrics.sample_interval_seconds)
    try:
        with steady_writes(profile), recorder:
            time.sleep(window_wall + 1.5)
            checkpoints["healthy"] = _both_at(time.time(), evaluators, lag_qi)
            # 1.5 s wall = 180 s plan: three times the 60 s threshold (0.5 s wall)
            injected = time.time()
            fault = faults.replication_delay(TENANT, 1.5)
            checkpoints["breach shorter than 10m"] = _both_at(injected + 3.0, evaluators, lag_qi)
            checkpoints["breach longer than 10m"] = _both_at(
                injected + window_wall + 4.0, evaluators, lag_qi
            )
            faults.remove(fault)
            removed = time.time()
            checkpoints["after removal"] = _both_at(removed + 3.0, evaluators, lag_qi)
    finally:
        faults.close()
        scrape.close()
        prometheus.close()
        store.close()

    summary = {
        moment: {name: (r.status.value, r.samples, r.reason) for name, r in results.items()}
        for moment, results in checkpoints.items()
    }
    expected = {
        "healthy": WindowStatus.CLEAR,
        "breach shorter than 10m": WindowStatus.CLEAR,
        "breach longer than 10m": WindowStatus.HOLDS,
        "after removal": WindowStatus.CLEAR,
    }
    for moment, wanted in expected.items():
        for name, result in checkpoints[moment].items():
            assert result.status is wanted, (moment, name, summary)
            assert result.samples >= 5, (moment, name, summary)
            assert result.source == name
    breached = checkpoints["breach longer than 10m"]
    for result in breached.values():
        assert (result.value or 0.0) > 60.0, summary
        assert (result.held_plan_seconds or 0.0) >= 600.0, summary
    early = checkpoints["breach shorter than 10m"]
    for result in early.values():
        # the condition already held, just not for the whole window
        assert 0.0 < (result.held_plan_seconds or 0.0) < 600.0, summary
