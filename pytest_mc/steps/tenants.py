"""Steps about tenants: which tenant a scenario is about, its mode and rollout stage."""

from __future__ import annotations

from pytest_bdd import given, parsers, then

from pytest_mc.drivers.control import ControlClient
from pytest_mc.target.profile import TargetProfile

_MODES = {"active/active": "active-active", "active/passive": "active-passive"}


@given(parsers.parse("tenant {tenant} of the target profile"), target_fixture="tenant")
def tenant_of_profile(mc_profile: TargetProfile, tenant: str) -> str:
    try:
        mc_profile.tenant(tenant)
    except KeyError as exc:
        raise AssertionError(str(exc.args[0])) from None
    return tenant


@then(parsers.parse("tenant {tenant} runs {mode}"))
def tenant_runs_mode(mc_control: ControlClient, tenant: str, mode: str) -> None:
    expected = _MODES.get(mode)
    if expected is None:
        raise AssertionError(f"unknown mode {mode!r} in the feature; write one of {list(_MODES)}")
    status = mc_control.tenant_status(tenant)
    assert status.mode == expected, f"tenant {tenant} runs {status.mode}, expected {expected}"


@then(parsers.parse('the rollout of tenant {tenant} is at stage "{stage}"'))
def rollout_at_stage(mc_control: ControlClient, tenant: str, stage: str) -> None:
    status = mc_control.tenant_status(tenant)
    assert status.rollout.stage == stage, (
        f"rollout of {tenant} is at stage {status.rollout.stage!r}, expected {stage!r}"
    )
