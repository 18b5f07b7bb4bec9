"""`mc-verify report|dr|dashboards ...` in process: files, DESIGN §9 exit codes, one-line errors.

`dr-schedule` runs against a profile whose control command is a small script answering
`readiness show --json` the way the target contract says, so the whole path (profile, control
CLI subprocess, parsing, files) runs without a staging.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import icalendar
import pytest
import yaml
from integration_helpers import GA_BEFORE, signer_of

from pytest_mc.cli.main import main
from pytest_mc.integration.dr_schedule import CALENDAR_FILE, SCHEDULE_FILE
from pytest_mc.integration.ga_delta_models import NOTES_FILE, REPORT_FILE
from pytest_mc.integration.privacy_tiles import DASHBOARD_FILE, FOLDER_FILE, PROVISIONING_FILE

CliResult = tuple[int, str, str]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]):
    def call(*args: str | Path) -> CliResult:
        capsys.readouterr()
        code = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call


def profile(tmp_path: Path, *, pending: str | None = None) -> Path:
    """A profile whose control CLI answers `readiness show` for TENANT_001..005."""
    records = {}
    for number in range(1, 6):
        tenant = f"TENANT_{number:03d}"
        records[tenant] = {
            "tenant": tenant,
            "wave": "ga" if number <= 3 else ("A" if number == 4 else "B"),
            "residency": "eu",
            "traffic_profile": {"peak_rps": 50, "read_ratio": 0.7, "write_ratio": 0.3},
            "slo_baseline": {"availability": 0.999, "latency_p95_ms": 250},
            "residency_tags_verified": True,
            "data_volume": {"rows": 10},
            "hot_key_cache_plan": {"base_ttl_seconds": 1},
            "query_budgets": {"units_per_second": 100},
            "dr_enrolment": {
                "schedule": "monthly",
                "format": "json",
                "status": "pending" if tenant == pending else "enrolled",
            },
        }
    script = tmp_path / "control.py"
    script.write_text(
        "import json, sys\n"
        f"RECORDS = {json.dumps(records)!r}\n"
        "if sys.argv[1:3] != ['readiness', 'show']:\n"
        "    print('unsupported', file=sys.stderr); sys.exit(2)\n"
        "print(RECORDS)\n"
    )
    data = {
        "name": "unit-staging",
        "environment": "staging",
        "allowed_hosts": ["127.0.0.1"],
        "time_scale": 600,
        "control": {"command": [sys.executable, str(script)]},
        "glb_url": "http://127.0.0.1:9",
        "metrics": {
            "source": "scrape",
            "sample_interval_seconds": 0.1,
            "endpoints": [{"component": "glb", "url": "http://127.0.0.1:9/metrics"}],
        },
        "regions": [
            {"id": "eu-west", "jurisdiction": "eu"},
            {"id": "eu-central", "jurisdiction": "eu"},
        ],
        "tenants": [
            {
                "id": tenant,
                "wave": record["wave"],
                "residency": "eu",
                "regions": ["eu-west", "eu-central"],
                "slo_baseline": {"availability": 0.999, "latency_p95_ms": 250},
            }
            for tenant, record in records.items()
        ],
    }
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_ga_delta_from_the_profile_writes_report_and_notes(
    run, published_bundle: Path, tmp_path: Path
) -> None:
    code, out, err = run(
        "report", "ga-delta", published_bundle, "-o", tmp_path / "rel", "--target",
        profile(tmp_path), "--public-key", signer_of(published_bundle),
    )  # fmt: skip
    assert code == 0, err
    assert f"{REPORT_FILE}: GA 3 -> 4 tenants" in out
    assert "rehearsal evidence" in err
    report = json.loads((tmp_path / "rel" / REPORT_FILE).read_text())
    assert report["ga_before"] == list(GA_BEFORE)
    assert (tmp_path / "rel" / NOTES_FILE).is_file()


def test_ga_delta_exits_1_when_the_ga_fleet_fails_a_gate(
    run, published_bundle: Path, tmp_path: Path
) -> None:
    code, _, err = run(
        "report", "ga-delta", published_bundle, "-o", tmp_path / "rel",
        "--ga-before", "TENANT_001", "--ga-before", "TENANT_005",
        "--notes-link", f"../evidence/{REPORT_FILE}",
        "--public-key", signer_of(published_bundle),
    )  # fmt: skip
    assert code == 1
    assert "GA-after fleet fails: replication_lag" in err
    notes = (tmp_path / "rel" / NOTES_FILE).read_text()
    assert f"](../evidence/{REPORT_FILE})" in notes


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "name the tenants at A/A GA before the expansion"),
        (("--ga-before", "T", "--notes-link", "/abs/x.json"), "must be a relative path"),
        (("--target", "missing.yaml"), "target profile not found"),
    ],
)
def test_ga_delta_bad_input_is_exit_2_on_one_line(
    run, published_bundle: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    code, out, err = run("report", "ga-delta", published_bundle, "-o", tmp_path, *args)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert message in err
    assert err.count("\n") == 1, err


def test_ga_delta_of_a_missing_bundle_is_exit_2(run, tmp_path: Path) -> None:
    code, _, err = run(
        "report", "ga-delta", tmp_path / "nope.json", "-o", tmp_path, "--ga-before", "T"
    )
    assert code == 2
    assert "evidence bundle not found" in err


def test_dr_schedule_from_the_targets_readiness_records(run, tmp_path: Path) -> None:
    out_dir = tmp_path / "dr"
    code, out, err = run(
        "dr", "schedule", "--target", profile(tmp_path), "-o", out_dir,
        "--start", "2027-01", "--months", "3",
    )  # fmt: skip
    assert code == 0, err
    assert f"{SCHEDULE_FILE}: 5 tenants, 15 drills" in out
    schedule = json.loads((out_dir / SCHEDULE_FILE).read_text())
    assert [d["tenant"] for d in schedule["drills"]] == [f"TENANT_{n:03d}" for n in range(1, 6)]
    assert schedule["drills"][0]["regions"] == ["eu-west", "eu-central"]
    events = list(
        icalendar.Calendar.from_ical((out_dir / CALENDAR_FILE).read_bytes()).walk("VEVENT")
    )
    assert len(events) == 15


def test_dr_schedule_exits_1_for_a_tenant_not_enrolled(run, tmp_path: Path) -> None:
    code, out, err = run(
        "dr", "schedule", "--target", profile(tmp_path, pending="TENANT_005"),
        "-o", tmp_path / "dr", "--start", "2027-01",
    )  # fmt: skip
    assert code == 1
    assert "4 tenants, 48 drills" in out
    assert "not enrolled: TENANT_005: status 'pending', not 'enrolled'" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--start", "2027-1x"), "cannot read month"),
        (("--at", "25:00"), "give HH:MM (UTC)"),
        (("--months", "0"), "months must be between 1 and 60"),
    ],
)
def test_dr_schedule_bad_options_are_exit_2(
    run, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    code, _, err = run(
        "dr", "schedule", "--target", profile(tmp_path), "-o", tmp_path / "dr", *args
    )
    assert code == 2
    assert message in err
    assert not (tmp_path / "dr").exists()


def test_privacy_tiles_writes_three_files(run, tmp_path: Path) -> None:
    code, out, _ = run("dashboards", "privacy", "-o", tmp_path / "grafana")
    assert code == 0
    for name in (DASHBOARD_FILE, PROVISIONING_FILE, FOLDER_FILE):
        assert (tmp_path / "grafana" / name).is_file()
        assert name in out


def test_dr_schedule_against_a_target_whose_control_cli_is_missing_is_exit_3(
    run, tmp_path: Path
) -> None:
    path = profile(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["control"]["command"] = [str(tmp_path / "no-such-mc")]
    path.write_text(yaml.safe_dump(data))
    code, _, err = run("dr", "schedule", "--target", path, "-o", tmp_path / "dr")
    assert code == 3, err
    assert err.startswith("error: ")
    assert not (tmp_path / "dr").exists()
