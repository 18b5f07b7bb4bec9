"""Fixtures of the driver tests: a minimal target profile whose files live under tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_mc.target.profile import TargetProfile


@pytest.fixture
def target_profile_document(tmp_path: Path) -> dict[str, Any]:
    """A one-region, one-GA-tenant target profile as a plain document (YAML/JSON shape).

    The admin token file and the chaos experiments directory are in `tmp_path`; the token
    file is not written.
    """
    return {
        "name": "t",
        "environment": "staging",
        "allowed_hosts": ["127.0.0.1"],
        "glb_url": "http://127.0.0.1:1",
        "metrics": {"source": "prometheus", "prometheus_url": "http://127.0.0.1:2"},
        "regions": [{"id": "r1", "jurisdiction": "eu"}],
        "tenants": [
            {
                "id": "T1",
                "wave": "ga",
                "residency": "eu",
                "regions": ["r1"],
                "slo_baseline": {"availability": 0.999, "latency_p95_ms": 250},
            }
        ],
        "admin": {"url": "http://127.0.0.1:3", "token_file": str(tmp_path / "token")},
        "chaos": {"experiments_dir": str(tmp_path)},
    }


@pytest.fixture
def target_profile(target_profile_document: dict[str, Any]) -> TargetProfile:
    """`target_profile_document`, validated."""
    return TargetProfile.model_validate(target_profile_document)
