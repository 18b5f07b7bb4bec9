"""The chaos/ experiments load and validate; malformed experiments are one-line input errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_mc.drivers.chaos import experiment_path, load_experiment_file
from pytest_mc.drivers.chaos_target import target_configuration
from pytest_mc.errors import InputError
from pytest_mc.paths import project_dir
from pytest_mc.target.profile import TargetProfile

CHAOS_DIR = project_dir("chaos")
EXPECTED = {
    "region-outage": "region-crash",
    "replication-delay": "replication-delay",
    "replication-partition": "replication-partition",
    "conflict-storm": "conflict-storm",
    "non-persisted-burst": "non-persisted-burst",
    "residency-regression": "residency-regression",
    "error-budget-burn": "error-rate",
    "latency": "latency",
    "derived-data-drift": "derived-drift",
    "placement-drift": "placement-drift",
}


# Experiments that act through the public data plane instead of a fault hook.
DATA_PLANE = {"base-data-burst": ("write-base-data-burst", "delete-base-data-burst")}


def test_there_is_one_experiment_per_fault_hook_and_the_data_plane_ones() -> None:
    assert {path.stem for path in CHAOS_DIR.glob("*.json")} == set(EXPECTED) | set(DATA_PLANE)


@pytest.mark.parametrize("name", sorted(DATA_PLANE))
def test_a_data_plane_experiment_undoes_its_writes_in_the_region_it_wrote(name: str) -> None:
    info = load_experiment_file(CHAOS_DIR / f"{name}.json")
    assert (info.actions, info.rollbacks) == tuple((a,) for a in DATA_PLANE[name])
    assert {"glb_url", "tenant", "region_url", "hold_seconds"} <= set(info.configuration_keys)
    raw = json.loads((CHAOS_DIR / f"{name}.json").read_text())
    method, rollback = raw["method"][0]["provider"], raw["rollbacks"][0]["provider"]
    assert (method["func"], rollback["func"]) == ("write_burst", "delete_burst")
    assert method["arguments"] == rollback["arguments"]  # same region, tenant and key prefix


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_experiment_validates_and_removes_what_it_injects(name: str) -> None:
    info = load_experiment_file(CHAOS_DIR / f"{name}.json")
    kind = EXPECTED[name]
    assert info.actions == (f"inject-{kind}",)
    assert info.rollbacks == (f"remove-{kind}",)
    assert {"admin_url", "glb_url", "tenant", "hold_seconds"} <= set(info.configuration_keys)
    assert "tenant-served-through-glb" in info.probes
    raw = json.loads((CHAOS_DIR / f"{name}.json").read_text())
    # The secret only ever comes from the environment, never from the file.
    assert raw["secrets"] == {"mc": {"admin_token": {"type": "env", "key": "MC_ADMIN_TOKEN"}}}
    for activity in raw["method"] + raw["rollbacks"]:
        assert activity["provider"]["arguments"]["kind"] == kind
        assert activity["provider"]["secrets"] == ["mc"]


def _write(tmp_path: Path, content: str, name: str = "broken.json") -> Path:
    path = tmp_path / name
    path.write_text(content)
    return path


def _valid() -> dict[str, object]:
    return json.loads((CHAOS_DIR / "latency.json").read_text())  # type: ignore[no-any-return]


def _edited(**changes: object) -> str:
    experiment = _valid()
    for key, value in changes.items():
        if value is None:
            experiment.pop(key)
        else:
            experiment[key] = value
    return json.dumps(experiment)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"title": "x",\n  "method": [}', "not valid JSON at line 2 column"),
        ("[1, 2]", "the top level must be a JSON object"),
        (_edited(title=None), "experiment requires a title"),
        (_edited(method=None), "an experiment requires a method"),
        (_edited(rollbacks=None), "no rollbacks"),
        (_edited(**{"steady-state-hypothesis": None}), "no steady-state hypothesis probes"),
        (
            _edited(
                rollbacks=[
                    {
                        "type": "action",
                        "name": "remove",
                        "provider": {"type": "python", "module": "no.such.module", "func": "f"},
                    }
                ]
            ),
            "could not find Python module 'no.such.module'",
        ),
    ],
)
def test_malformed_experiment_is_one_line_input_error(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(InputError) as caught:
        load_experiment_file(path)
    message = str(caught.value)
    assert caught.value.exit_code == 2
    assert "\n" not in message
    assert message.startswith(f"chaos experiment {str(path)!r}: ")
    assert problem in message
    assert message.endswith("fix the experiment file")


def test_missing_experiment_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nothing\.json'.*file not found"):
        load_experiment_file(tmp_path / "nothing.json")


def test_bare_names_resolve_in_the_profile_chaos_dir(
    tmp_path: Path, target_profile: TargetProfile
) -> None:
    assert experiment_path(target_profile, "latency") == tmp_path / "latency.json"
    assert experiment_path(target_profile, CHAOS_DIR / "latency.json") == CHAOS_DIR / "latency.json"


def test_configuration_comes_from_the_profile(target_profile: TargetProfile) -> None:
    info = load_experiment_file(CHAOS_DIR / "latency.json")
    values = target_configuration(
        target_profile, info, tenant="T1", region=None, overrides={"latency_ms": 80}
    )
    assert values == {
        "admin_url": "http://127.0.0.1:3",
        "glb_url": "http://127.0.0.1:1",
        "tenant": "T1",
        "latency_ms": 80,
    }


def test_unknown_configuration_key_is_an_input_error(target_profile: TargetProfile) -> None:
    info = load_experiment_file(CHAOS_DIR / "latency.json")
    with pytest.raises(InputError, match=r"configuration \['latncy_ms'\] unknown to experiment"):
        target_configuration(
            target_profile, info, tenant="T1", region=None, overrides={"latncy_ms": 80}
        )


def test_unknown_tenant_is_an_input_error(target_profile: TargetProfile) -> None:
    info = load_experiment_file(CHAOS_DIR / "latency.json")
    with pytest.raises(InputError, match=r"tenant 'T9' is not in profile 't'"):
        target_configuration(target_profile, info, tenant="T9", region=None, overrides={})


def test_region_outage_needs_the_region_url(target_profile: TargetProfile) -> None:
    info = load_experiment_file(CHAOS_DIR / "region-outage.json")
    with pytest.raises(InputError, match=r"needs the url of region 'r1'"):
        target_configuration(target_profile, info, tenant="T1", region="r1", overrides={})
