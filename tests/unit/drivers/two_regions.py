"""A target profile with one tenant on two EU regions reachable directly, for the probes'
in-memory data planes (which tell the region a request went to by its URL's port)."""

from __future__ import annotations

from pytest_mc.target.profile import TargetProfile

FIRST, SECOND = "eu-a", "eu-b"
# What an in-memory data plane reads from `request.url.port`.
PORTS = {"1": "glb", "10": FIRST, "11": SECOND}


def two_region_profile(mode: str) -> TargetProfile:
    """Tenant T1 on FIRST and SECOND, in `mode` (active-active or active-passive)."""
    return TargetProfile.model_validate(
        {
            "name": "t",
            "environment": "staging",
            "allowed_hosts": ["127.0.0.1"],
            "glb_url": "http://127.0.0.1:1",
            "metrics": {"source": "prometheus", "prometheus_url": "http://127.0.0.1:2"},
            "regions": [
                {"id": FIRST, "jurisdiction": "eu", "url": "http://127.0.0.1:10"},
                {"id": SECOND, "jurisdiction": "eu", "url": "http://127.0.0.1:11"},
            ],
            "tenants": [
                {
                    "id": "T1",
                    "wave": "A",
                    "residency": "eu",
                    "mode": mode,
                    "regions": [FIRST, SECOND],
                    "slo_baseline": {"availability": 0.999, "latency_p95_ms": 250},
                }
            ],
        }
    )
