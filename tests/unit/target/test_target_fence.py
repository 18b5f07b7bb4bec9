"""The safety fence: a change runs only against a staging whose every host is allowed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pytest_mc.errors import UnsafeTargetError
from pytest_mc.target.fence import change_refusal, require_change_allowed
from pytest_mc.target.profile import TargetProfile

VALID: dict[str, object] = {
    "name": "unit-staging",
    "environment": "staging",
    "allowed_hosts": ["127.0.0.1", "localhost"],
    "glb_url": "http://127.0.0.1:9",
    "admin": {"url": "http://127.0.0.1:10"},
    "metrics": {
        "source": "scrape",
        "endpoints": [{"component": "glb", "url": "http://localhost:9/metrics"}],
    },
    "regions": [
        {"id": "eu-west", "jurisdiction": "eu", "url": "http://127.0.0.1:11"},
        {"id": "eu-central", "jurisdiction": "eu"},
    ],
    "tenants": [
        {
            "id": "TENANT_004",
            "wave": "A",
            "residency": "eu",
            "regions": ["eu-west", "eu-central"],
            "slo_baseline": {"availability": 0.999, "latency_p95_ms": 250},
        }
    ],
}


def profile(**changes: object) -> TargetProfile:
    return TargetProfile.model_validate({**VALID, **changes})


def test_a_change_to_a_staging_inside_its_hosts_is_allowed() -> None:
    require_change_allowed(profile(), what="control command 'glb bias'")
    assert change_refusal(profile(), what="anything") is None


@pytest.mark.parametrize("environment", ["production", "development"])
def test_a_change_to_any_environment_but_staging_is_refused(environment: str) -> None:
    with pytest.raises(UnsafeTargetError) as caught:
        require_change_allowed(profile(environment=environment), what="control command 'glb bias'")
    assert str(caught.value) == (
        f"refused to run control command 'glb bias' against target 'unit-staging': environment "
        f"is {environment!r}, not 'staging'; use a staging profile as the target (only reads "
        "run against any other environment)"
    )
    assert caught.value.exit_code == 3


@pytest.mark.parametrize(
    ("changes", "field", "host"),
    [
        ({"glb_url": "http://10.1.2.3:8080"}, "glb_url", "10.1.2.3"),
        (
            {"admin": {"url": "https://admin.prod.example.com"}},
            "admin.url",
            "admin.prod.example.com",
        ),
        (
            {"metrics": {"source": "prometheus", "prometheus_url": "http://prom.example.com:9090"}},
            "metrics.prometheus_url",
            "prom.example.com",
        ),
        (
            {"metrics": {"endpoints": [{"component": "glb", "url": "http://mon.example.com/m"}]}},
            "metrics.endpoints[glb]",
            "mon.example.com",
        ),
        (
            {
                "regions": [
                    {"id": "eu-west", "jurisdiction": "eu", "url": "http://eu-west.prod:80"},
                    {"id": "eu-central", "jurisdiction": "eu"},
                ]
            },
            "regions[eu-west].url",
            "eu-west.prod",
        ),
    ],
    ids=["glb", "admin", "prometheus", "scrape endpoint", "region"],
)
def test_a_change_is_refused_when_any_profile_host_is_outside_allowed_hosts(
    changes: dict[str, object], field: str, host: str
) -> None:
    with pytest.raises(UnsafeTargetError) as caught:
        require_change_allowed(profile(**changes), what="a DR drill on TENANT_004")
    assert str(caught.value) == (
        f"refused to run a DR drill on TENANT_004 against target 'unit-staging': {field} host "
        f"{host!r} is not in allowed_hosts ['127.0.0.1', 'localhost']; add it only if it is a "
        "staging host"
    )


def test_the_environment_is_named_before_any_host() -> None:
    refusal = change_refusal(
        profile(environment="production", glb_url="http://10.1.2.3"), what="k6 load"
    )
    assert refusal is not None
    assert "environment is 'production'" in refusal


def test_the_documented_example_profile_is_a_staging_inside_its_fence() -> None:
    doc = Path(__file__).resolve().parents[3] / "docs" / "target-profile.md"
    block = re.search(r"```yaml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert block is not None
    example = TargetProfile.model_validate(yaml.safe_load(block.group(1)))
    require_change_allowed(example, what="the documented example")
