"""The KPI campaign through both channels of a real reference staging: the control CLI (a
process per command) and the control API (the same commands over HTTP) give the same cycles,
the same kind of records and a ledger the target's audit log accounts for, whichever ran it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_mc.drivers.autonomy import AutonomyDriver, reconcile_audit
from pytest_mc.drivers.autonomy_campaign import AutonomyCampaign, CampaignResult
from pytest_mc.drivers.autonomy_models import AuditLog
from pytest_mc.drivers.control import ControlClient
from pytest_mc.drivers.control_api import ControlApi
from pytest_mc.drivers.derived_data import DerivedDataReader
from pytest_mc.drivers.runner import ToolRunner
from pytest_mc.evidence.redaction import Redactor

pytestmark = pytest.mark.integration

CYCLES = 6
DRIFT_SHARE = 1 / CYCLES  # one cycle of six, the fourth (drift_cycles spreads them)


def _judged(result: CampaignResult) -> list[tuple[object, ...]]:
    """What the KPIs are counted from, cycle by cycle."""
    return [
        (c.drift_injected, c.simulated, c.outcome, c.abort_reason, c.success, c.false_negative)
        for c in result.cycles
    ]


def _campaign(
    staging: Any, work_dir: Path, *, over_api: bool
) -> tuple[CampaignResult, AutonomyDriver]:
    profile = staging.profile
    pilot = next(t.id for t in profile.tenants if t.autonomy_pilot)
    redactor = Redactor()
    driver = AutonomyDriver(ControlClient(profile, ToolRunner(redactor)), work_dir)
    answer, _ = driver.set(pilot, "T3", scope="read-only", require_hitl=True)
    assert answer.done, answer.describe()
    with DerivedDataReader(profile) as reader, ControlApi(profile) as api:
        campaign = AutonomyCampaign(profile, driver, reader, on_secret=redactor.register)
        with driver.over_api(api if over_api else None):
            result = campaign.run(pilot, CYCLES, drift_share=DRIFT_SHARE)
    return result, driver


def test_both_channels_give_the_same_cycles_records_and_audit(
    reference_staging: Any, tmp_path: Path
) -> None:
    by_cli, cli_driver = _campaign(reference_staging, tmp_path / "cli", over_api=False)
    by_api, api_driver = _campaign(reference_staging, tmp_path / "api", over_api=True)

    assert (by_cli.channel, by_api.channel) == ("control CLI", "control API")
    expected = [(i == 3, True, "aborted" if i == 3 else "succeeded") for i in range(CYCLES)]
    for result in (by_cli, by_api):
        assert [judged[:3] for judged in _judged(result)] == expected, result.failures()
        assert all(c.success and not c.false_negative for c in result.cycles), result.failures()
    assert _judged(by_cli) == _judged(by_api)
    # the record files: one per simulation, enactment (and compensation), same fields
    for stem in ("sim", "enact"):
        cli_files = sorted((tmp_path / "cli").glob(f"{stem}-*.json"))
        api_files = sorted((tmp_path / "api").glob(f"{stem}-*.json"))
        assert len(cli_files) == len(api_files) == CYCLES
        for cli_file, api_file in zip(cli_files, api_files, strict=True):
            assert set(json.loads(cli_file.read_text())) == set(json.loads(api_file.read_text()))
    # the target's audit log has exactly one matching record for every enactment either started
    control = ControlClient(reference_staging.profile, ToolRunner(Redactor()))
    pilot = by_api.tenant
    log = control.parsed(AuditLog, "provenance", "log", "--tenant", pilot, "--limit", "100000")
    for driver in (cli_driver, api_driver):
        assert len(driver.ledger) == CYCLES
        assert reconcile_audit(driver.ledger, log.records) == []
