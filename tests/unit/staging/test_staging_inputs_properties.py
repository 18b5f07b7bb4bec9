"""Property: no option value or request body makes the reference staging trace back or 500.

`mc-staging faults inject --param k=v` and `autonomy approve --ttl-seconds` with generated
values exit 2 with one `mc-staging:` line when the value is bad, and go on to the staging
(exit 3 here: there is none) when it is good. The admin and command APIs of a real control
app, called in-process, answer every generated body with a documented status (201/200,
400, 409, 503) and a one-line JSON error, never 500.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from input_properties import (
    ODD_TEXT,
    PropertyCounter,
    as_json,
    check_outcome,
    damaged_bytes,
    deep_values,
    examples,
    values,
)
from staging_inputs_helpers import Answer, InProcessControl

from mc_staging.cli import main
from mc_staging.errors import BadInput
from mc_staging.faults import FAULT_PARAMS, fault_params
from mc_staging.seed import REGIONS, seed_tenants
from mc_staging.tokens import approval_ttl

KINDS = sorted(FAULT_PARAMS)
PARAM_NAMES = sorted({name for params in FAULT_PARAMS.values() for name in params})
TENANTS = [tenant.id for tenant in seed_tenants(0.0)]
REGION_IDS = [region.id for region in REGIONS]

number_text = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
    st.sampled_from(["1e300", "0x10", "1_000", " 5 ", "5.", "-0", "true", "False", "1e-400"]),
)
param_value_text = st.one_of(number_text, st.sampled_from(ODD_TEXT[:18]), st.text(max_size=12))
param_items = st.lists(
    st.tuples(st.one_of(st.sampled_from(PARAM_NAMES), st.text(max_size=8)), param_value_text),
    max_size=3,
)


@pytest.fixture
def control(tmp_path: Path) -> Iterator[InProcessControl]:
    plane = InProcessControl(tmp_path / "state")
    yield plane
    plane.close()


def run_cli(capsys: pytest.CaptureFixture[str], state: Path, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    try:
        main(["--state-dir", str(state), *args], prog_name="mc-staging")
    except SystemExit as exited:
        code = exited.code if isinstance(exited.code, int) else 1
    else:  # pragma: no cover - every command here ends by exiting
        code = 0
    return code, capsys.readouterr().err


def _accepted(check: object, *args: object) -> bool:
    try:
        check(*args)  # type: ignore[operator]
    except BadInput:
        return False
    return True


@examples(400)
@given(kind=st.one_of(st.sampled_from(KINDS), st.text(max_size=10)), items=param_items)
def test_faults_inject_exits_2_on_a_bad_param_and_only_then(
    tmp_path: Path,
    tried: PropertyCounter,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    items: list[tuple[str, str]],
) -> None:
    arguments = ["faults", "inject", "--kind", kind]
    for name, value in items:
        arguments += ["--param", f"{name}={value}"]
    code, err = tried.call(run_cli, capsys, tmp_path / "no-staging", *arguments)
    check_outcome(code, err, {2, 3}, prefix="mc-staging: ")
    event(f"exit {code}")
    well_formed = all(name for name, _ in items)
    good = well_formed and _accepted(fault_params, kind, dict(items))
    assert (code == 3) == good, err


@examples(200)
@given(ttl=st.one_of(number_text, st.sampled_from(ODD_TEXT[:18])))
def test_autonomy_approve_exits_2_on_a_ttl_out_of_bounds_and_only_then(
    tmp_path: Path, tried: PropertyCounter, capsys: pytest.CaptureFixture[str], ttl: str
) -> None:
    arguments = ["autonomy", "approve", "--tenant", "TENANT_001", "--from-sim", "sim.json"]
    code, err = tried.call(
        run_cli, capsys, tmp_path / "no-staging", *arguments, f"--ttl-seconds={ttl}"
    )
    check_outcome(code, err, {2, 3}, prefix="mc-staging: ")
    event(f"exit {code}")
    try:
        good = _accepted(approval_ttl, float(ttl))
    except ValueError:
        good = False  # click refuses what float() refuses
    assert (code == 3) == good, err


def _check_answer(answer: Answer, statuses: set[int]) -> None:
    event(f"HTTP {answer.status}")
    assert answer.status in statuses, (answer.status, str(answer.body)[:2000])
    if answer.status >= 400:
        assert isinstance(answer.body, dict), answer.body
        message = str(answer.body.get("message"))
        assert "\n" not in message
        assert len(message) <= 1000, len(message)


scope = st.one_of(st.none(), st.sampled_from(TENANTS + REGION_IDS), values)
fault_bodies = st.fixed_dictionaries(
    {"kind": st.one_of(st.sampled_from(KINDS), values)},
    optional={
        "tenant": st.one_of(st.sampled_from(TENANTS), scope),
        "region": st.one_of(st.sampled_from(REGION_IDS), scope),
        "params": st.one_of(
            st.dictionaries(
                st.one_of(st.sampled_from(PARAM_NAMES), st.text(max_size=6)),
                st.one_of(values, param_value_text),
                max_size=3,
            ),
            values,
        ),
        "extra": values,
    },
)
GOOD_FAULT = b'{"kind": "latency", "tenant": "TENANT_001", "params": {"latency_ms": 5}}'


@examples(600)
@given(
    body=st.one_of(
        fault_bodies.map(as_json),
        deep_values.map(as_json),
        damaged_bytes(GOOD_FAULT),
        st.binary(max_size=64),
    )
)
def test_the_admin_api_answers_any_fault_body_without_a_500(
    control: InProcessControl, tried: PropertyCounter, body: bytes
) -> None:
    answer = tried.call(control.request, "POST", "/admin/faults", body)
    _check_answer(answer, {201, 400, 409, 503})


ARGUMENT_NAMES = [
    "tenant",
    "region",
    "weight",
    "limit",
    "units_per_second",
    "ttl_seconds",
    "simulation",
    "enactment",
    "tier",
    "scope",
    "require_hitl",
    "op_set",
    "flag",
    "value",
    "to",
    "reason",
    "kind",
    "params",
    "id",
    "all",
    "op_id",
    "approval_token",
]
command_bodies = st.dictionaries(
    st.sampled_from(ARGUMENT_NAMES),
    st.one_of(st.sampled_from(TENANTS + REGION_IDS + ["T3", "read-only", "latency"]), values),
    max_size=5,
)


@examples(600)
@given(data=st.data())
def test_the_command_api_answers_any_arguments_without_a_500(
    control: InProcessControl, tried: PropertyCounter, data: st.DataObject
) -> None:
    command = data.draw(st.sampled_from(sorted(control.server.commands)), label="command")
    body = data.draw(
        st.one_of(
            command_bodies.map(as_json),
            deep_values.map(as_json),
            damaged_bytes(json.dumps({"tenant": "TENANT_001"}).encode()),
        ),
        label="body",
    )
    answer = tried.call(control.request, "POST", f"/api/{command}", body)
    _check_answer(answer, {200, 400, 409, 503})
