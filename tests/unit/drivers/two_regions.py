"""A target profile with one tenant on two EU regions reachable directly, for the probes'
in-memory data planes (which tell the region a request went to by its URL's port); with
`outside` a third region in another jurisdiction, with `admin_token` the admin API."""

from __future__ import annotations

from pathlib import Path

from pytest_mc.target.profile import TargetProfile

FIRST, SECOND, OUTSIDE = "eu-a", "eu-b", "us-a"
# What an in-memory data plane reads from `request.url.port`.
PORTS = {"1": "glb", "10": FIRST, "11": SECOND, "12": OUTSIDE}
ADMIN_URL = "http://127.0.0.1:3"


def two_region_profile(
    mode: str, *, outside: bool = False, admin_token: Path | None = None
) -> TargetProfile:
    """Tenant T1 on FIRST and SECOND, in `mode` (active-active or active-passive)."""
    regions = [
        {"id": FIRST, "jurisdiction": "eu", "url": "http://127.0.0.1:10"},
        {"id": SECOND, "jurisdiction": "eu", "url": "http://127.0.0.1:11"},
    ]
    if outside:
        regions.append({"id": OUTSIDE, "jurisdiction": "us", "url": "http://127.0.0.1:12"})
    admin = (
        {} if admin_token is None else {"admin": {"url": ADMIN_URL, "token_file": str(admin_token)}}
    )
    return TargetProfile.model_validate(
        {
            "name": "t",
            "environment": "staging",
            "allowed_hosts": ["127.0.0.1"],
            "glb_url": "http://127.0.0.1:1",
            **admin,
            "metrics": {"source": "prometheus", "prometheus_url": "http://127.0.0.1:2"},
            "regions": regions,
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
