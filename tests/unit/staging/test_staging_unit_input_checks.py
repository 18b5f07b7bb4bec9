"""Bad input to the reference staging is one line and exit 2 (CLI) or HTTP 400 (admin and
command API), never a 500 or a traceback: fault parameters are checked per kind, approval
token lifetimes are bounded, request bodies must be JSON objects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from staging_inputs_helpers import InProcessControl

from mc_staging.cli import main
from mc_staging.errors import BadInput, quoted
from mc_staging.faults import fault_params
from mc_staging.tokens import MAX_TTL_SECONDS, approval_ttl


@pytest.fixture
def control(tmp_path: Path) -> Iterator[InProcessControl]:
    plane = InProcessControl(tmp_path / "state")
    yield plane
    plane.close()


def run_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(["--state-dir", str(tmp_path / "no-staging"), *args], prog_name="mc-staging")
    code = exited.value.code
    return (code if isinstance(code, int) else 1), capsys.readouterr().err


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("latency", {"latency_ms": "abc"}, "'latency_ms' must be a number from 0 to 60000 ms"),
        ("latency", {"latency_ms": "nan"}, "got 'nan'"),
        ("latency", {"latency_ms": True}, "got True"),
        ("error-rate", {"rate": 1.5}, "'rate' must be a number from 0 to 1, got 1.5"),
        ("conflict-storm", {"keys": 0}, "'keys' must be a whole number from 1 to 10000"),
        ("conflict-storm", {"writes_per_tick": "2.5"}, "got '2.5'"),
        ("residency-regression", {"leak_only": 1}, "'leak_only' must be true or false, got 1"),
        ("latency", {"original": "{}"}, "takes no parameter 'original'"),
        ("region-crash", {"x": 1}, "(its parameters: none)"),
        ("meteor", {}, "fault kind 'meteor' unknown: use one of replication-delay"),
    ],
)
def test_a_bad_fault_parameter_is_refused_naming_what_it_takes(
    kind: str, params: dict[str, object], message: str
) -> None:
    with pytest.raises(BadInput) as caught:
        fault_params(kind, params)
    assert message in caught.value.message


def test_fault_parameters_as_text_are_read_as_numbers_and_flags() -> None:
    assert fault_params(
        "replication-delay", {"delay_seconds": " 1.5 ", "expires_after_seconds": 2}
    ) == {"delay_seconds": 1.5, "expires_after_seconds": 2.0}


@pytest.mark.parametrize("ttl", ["nan", "inf", "-inf", 0, -5, 1e300, "1e300", True, None, "x"])
def test_an_approval_ttl_that_is_not_a_bounded_positive_number_is_refused(ttl: object) -> None:
    with pytest.raises(BadInput, match="--ttl-seconds must be a number of wall seconds above 0"):
        approval_ttl(ttl)


def test_an_approval_ttl_of_up_to_a_day_is_accepted() -> None:
    assert approval_ttl("0.2") == 0.2
    assert approval_ttl(MAX_TTL_SECONDS) == MAX_TTL_SECONDS


def test_a_quoted_value_is_cut_to_about_200_characters() -> None:
    assert quoted("v" * 100_000) == repr("v" * 200) + "… (100000 characters)"
    assert len(quoted([[["x" * 1000] * 100] * 100])) <= 201


def test_a_bad_error_message_is_kept_to_one_bounded_line() -> None:
    message = BadInput("first\nsecond " + "x" * 5000 + " do this").message
    assert "\n" not in message
    assert len(message) <= 903
    assert message.endswith(" do this")


def test_faults_inject_refuses_a_bad_param_before_reaching_the_staging(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, err = run_cli(
        capsys, tmp_path, "faults", "inject", "--kind", "latency", "--param", "latency_ms=abc"
    )
    assert code == 2
    assert err == (
        "mc-staging: fault 'latency' parameter 'latency_ms' must be a number from 0 to 60000 ms, "
        "got 'abc'\n"
    )


def test_faults_inject_with_good_params_goes_on_to_the_staging(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, err = run_cli(
        capsys, tmp_path, "faults", "inject", "--kind", "latency", "--param", "latency_ms=5"
    )
    assert code == 3
    assert "run `mc-staging up --state-dir DIR` first" in err


@pytest.mark.parametrize("ttl", ["nan", "inf", "-1", "0", "1e300"])
def test_autonomy_approve_refuses_a_ttl_that_would_never_expire_or_never_start(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, ttl: str
) -> None:
    args = ["autonomy", "approve", "--tenant", "T", "--from-sim", "s.json", "--ttl-seconds", ttl]
    code, err = run_cli(capsys, tmp_path, *args)
    assert code == 2
    assert err.startswith("mc-staging: --ttl-seconds must be a number of wall seconds")
    assert err.count("\n") == 1


def test_a_usage_error_of_a_subcommand_is_one_line_with_where_to_look(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, err = run_cli(capsys, tmp_path, "autonomy", "approve", "--ttl-seconds", "abc")
    assert code == 2
    assert err == (
        "mc-staging: Invalid value for '--ttl-seconds': 'abc' is not a valid float. "
        "(see `mc-staging autonomy approve --help`)\n"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "fault body is not JSON ("),
        (b"[]", "fault body must be a JSON object, got list"),
        (b"[" * 5000, "fault body nests objects or arrays more than 64 levels deep"),
        (b'{"kind": "latency", "params": {"latency_ms": NaN}}', "NaN is not a JSON number"),
        (b'{"kind": 5}', "fault body needs 'kind', a fault kind name, got 5"),
        (b'{"kind": "latency", "tenant": ["x"]}', "'tenant' must be a string or null"),
        (b'{"kind": "latency", "params": [1]}', "'params' must be a JSON object, got [1]"),
        (b'{"kind": "latency", "colour": 1}', "fault body field 'colour' unknown"),
        (b'{"kind": "latency", "params": {"latency_ms": "abc"}}', "must be a number from 0"),
    ],
)
def test_a_bad_fault_body_is_400_with_a_one_line_json_error(
    control: InProcessControl, body: bytes, message: str
) -> None:
    answer = control.request("POST", "/admin/faults", body)
    assert answer.status == 400
    assert isinstance(answer.body, dict)
    assert answer.body["error"] == "bad_input"
    assert message in answer.body["message"]


def test_a_good_fault_body_is_stored_with_typed_params(control: InProcessControl) -> None:
    answer = control.post_json(
        "/admin/faults", {"kind": "latency", "tenant": None, "params": {"latency_ms": "150"}}
    )
    assert answer.status == 201
    assert isinstance(answer.body, dict)
    assert answer.body["params"] == {"latency_ms": 150.0}


def test_a_derived_drift_with_its_regions_down_is_503_not_500(control: InProcessControl) -> None:
    answer = control.post_json("/admin/faults", {"kind": "derived-drift", "tenant": "TENANT_001"})
    assert answer.status == 503
    assert isinstance(answer.body, dict)
    assert "the derived-drift fault was not injected" in str(answer.body["message"])


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        ("glb.bias", {"tenant": "TENANT_001", "region": "eu-west", "weight": "x"}, "--weight"),
        ("provenance.log", {"limit": -1}, "--limit must be a number from 1"),
        (
            "readiness.set-budget",
            {"tenant": "TENANT_001", "units_per_second": "inf"},
            "--units-per-second must be a number from 1",
        ),
        (
            "autonomy.approve",
            {"tenant": "TENANT_001", "simulation": {}, "ttl_seconds": 1e300},
            "--ttl-seconds must be a number of wall seconds",
        ),
    ],
)
def test_a_bad_command_argument_is_400(
    control: InProcessControl, command: str, args: dict[str, object], message: str
) -> None:
    answer = control.post_json(f"/api/{command}", args)
    assert answer.status == 400
    assert isinstance(answer.body, dict)
    assert message in str(answer.body["message"])


def test_a_command_body_that_is_not_json_is_400_not_an_empty_call(
    control: InProcessControl,
) -> None:
    answer = control.request("POST", "/api/tenant.status", b"{tenant")
    assert answer.status == 400
    assert isinstance(answer.body, dict)
    assert "the body of command 'tenant.status' is not JSON" in str(answer.body["message"])


def test_a_config_poll_with_a_bad_since_is_400(control: InProcessControl) -> None:
    answer = control.request("GET", "/internal/config?since=abc")
    assert answer.status == 400
    assert isinstance(answer.body, dict)
    assert "query parameter 'since' must be a number, got 'abc'" in str(answer.body["message"])
