"""Under plain pytest, a change to a target that is not a fenced staging is refused before it
reaches the target, whatever step makes it (even one the suite has never seen), and the run
exits 3; reads still run against that target."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from plugin_helpers import PROFILE

from pytest_mc.evidence.signing import TRUST_ENV

TENANT_STATUS = {
    "tenant": "TENANT_004",
    "wave": "A",
    "residency": "eu",
    "mode": "active-active",
    "regions": ["eu-west", "eu-central"],
    "primary": None,
    "failed_over_to": None,
    "rollout": {
        "stage": "canary-20",
        "stage_index": 2,
        "weight": 20,
        "paused": False,
        "pause_reason": None,
        "stage_entered_at": 1795683905.48,
        "stage_elapsed_plan_seconds": 2200.6,
        "stage_min_plan_seconds": 28800.0,
    },
    "flags": {"ttl_autotune": True, "persisted_only": True},
    "glb": {"weights": {"eu-central": 100}, "bias": "eu-central"},
}
GLB_STATUS = {"regions": [], "tenants": {}}

# The target's control CLI: it logs every invocation before it answers, so the log proves
# whether anything reached the target.
FAKE_CONTROL = f"""\
import json
import pathlib
import sys

args = sys.argv[1:]
with open(pathlib.Path(__file__).with_name("control-calls.log"), "a") as log:
    log.write(" ".join(args) + "\\n")
print(json.dumps({GLB_STATUS!r} if args[:2] == ["glb", "status"] else {TENANT_STATUS!r}))
"""

# Steps written for this test only: the suite's step library has never seen them.
CONFTEST = """\
from pytest_bdd import given, parsers, then

from pytest_mc.drivers.control import ControlClient
from pytest_mc.drivers.runner import ToolRunner


@given(parsers.parse("the GLB of {tenant} is biased to {region}"))
def _bias(mc_control, tenant, region):
    mc_control.glb_bias(tenant, region)


@given(parsers.parse("the rollout of {tenant} is advanced by a client of the step's own"))
def _advance(mc_profile, tenant):
    ControlClient(mc_profile, ToolRunner()).attempt("rollout", "advance", "--tenant", tenant)


@given(parsers.parse("the rollout of {tenant} is advanced through the session's runner"))
def _advance_raw(mc_profile, mc_runner, tenant):
    argv = [*mc_profile.control.command, "rollout", "advance", "--tenant", tenant, "--json"]
    mc_runner.run_checked(argv, tool="control CLI", timeout=30)


@given("a tool the suite has never heard of is started through the session's runner")
def _unknown_tool(mc_runner):
    mc_runner.run_checked(["/bin/true", "--wipe"], tool="mystery", timeout=30)


@then("the GLB status can be read")
def _read(mc_control):
    assert mc_control.call("glb", "status") == {"regions": [], "tenants": {}}
"""

STEPS = {
    "bias": "Given the GLB of TENANT_004 is biased to eu-central",
    "advance": "Given the rollout of TENANT_004 is advanced by a client of the step's own",
    "raw": "Given the rollout of TENANT_004 is advanced through the session's runner",
    "tool": "Given a tool the suite has never heard of is started through the session's runner",
    "read": "Then the GLB status can be read",
}
CALLS = {
    "bias": "glb bias --tenant TENANT_004 --region eu-central --weight 100 --json",
    "advance": "rollout advance --tenant TENANT_004 --json",
    "raw": "rollout advance --tenant TENANT_004 --json",
    "read": "glb status --json",
}
NAMES = {
    "bias": "control command 'glb bias'",
    "advance": "control command 'rollout advance'",
    "raw": "control command 'rollout advance'",
    "tool": "mystery (/bin/true --wipe)",
}
CHANGE_IDS = ["mc_control", "own ControlClient", "session runner", "unknown tool"]


def production(profile: str) -> str:
    return profile.replace("environment: staging", "environment: production")


def outside_allowed_hosts(profile: str) -> str:
    return profile.replace(
        'glb_url: "http://127.0.0.1:9"', 'glb_url: "http://mc-glb.prod.example.com:9"'
    )


UNSAFE = {
    "production": (
        production,
        "environment is 'production', not 'staging'; use a staging profile as the target",
    ),
    "host outside allowed_hosts": (
        outside_allowed_hosts,
        "glb_url host 'mc-glb.prod.example.com' is not in allowed_hosts ['127.0.0.1']",
    ),
}


def run_step(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, profile: str, step: str
) -> tuple[pytest.RunResult, list[str]]:
    """One scenario of `step` against `profile`; returns the run and the target's call log."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "true")
    monkeypatch.delenv(TRUST_ENV, raising=False)
    fake = pytester.path / "fake_control.py"
    fake.write_text(FAKE_CONTROL, encoding="utf-8")
    control = f"control:\n  command: [{json.dumps(sys.executable)}, {json.dumps(str(fake))}]\n"
    pytester.makefile(".yaml", profile=profile + control)
    pytester.makefile(
        ".feature", fence=f"Feature: A new step\n\n  Scenario: The step runs\n    {STEPS[step]}\n"
    )
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_fence='from pytest_bdd import scenarios\n\nscenarios("fence.feature")\n'
    )
    result = pytester.runpytest_subprocess(
        "-p", "mc", "-p", "no:cacheprovider", "--mc-target", "profile.yaml", "--mc-out", "dist"
    )
    log = Path(pytester.path / "control-calls.log")
    return result, log.read_text(encoding="utf-8").splitlines() if log.exists() else []


@pytest.mark.parametrize("step", ["bias", "advance", "raw", "tool"], ids=CHANGE_IDS)
@pytest.mark.parametrize("unsafe", sorted(UNSAFE))
def test_a_new_step_cannot_change_a_target_outside_the_fence(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, step: str, unsafe: str
) -> None:
    edit, why = UNSAFE[unsafe]

    result, calls = run_step(pytester, monkeypatch, edit(PROFILE), step)

    assert result.ret == 3, result.stdout.str()
    assert calls == []  # nothing reached the target
    assert (
        f"UnsafeTargetError: refused to run {NAMES[step]} against target 'test-staging': {why}"
    ) in result.stdout.str()


@pytest.mark.parametrize("step", ["bias", "advance", "raw"], ids=CHANGE_IDS[:3])
def test_the_same_steps_reach_a_fenced_staging(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    result, calls = run_step(pytester, monkeypatch, PROFILE, step)

    assert result.ret == 0, result.stdout.str()
    assert calls == [CALLS[step]]


@pytest.mark.parametrize("unsafe", sorted(UNSAFE))
def test_a_read_still_runs_against_a_target_outside_the_fence(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, unsafe: str
) -> None:
    edit, _why = UNSAFE[unsafe]

    result, calls = run_step(pytester, monkeypatch, edit(PROFILE), "read")

    assert result.ret == 0, result.stdout.str()
    assert calls == [CALLS["read"]]
