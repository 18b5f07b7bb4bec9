"""Writes the target profile (``profile.yaml``) that points the suite at this staging.

The shape is fixed by the suite's profile model (extra keys are refused there).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import yaml

from mc_staging.seed import REGIONS, TenantRecord
from mc_staging.statedir import StateDir


def control_command(state_dir: StateDir) -> list[str]:
    script = shutil.which("mc-staging") or str(Path(sys.executable).parent / "mc-staging")
    return [
        str(Path(script).resolve()) if Path(script).exists() else script,
        "--state-dir",
        str(state_dir.root),
    ]


def build_profile(
    state_dir: StateDir, time_scale: float, sample_interval: float, tenants: list[TenantRecord]
) -> dict[str, object]:
    ports = state_dir.ports()
    url = "http://127.0.0.1:{}".format
    scale: float | int = int(time_scale) if float(time_scale).is_integer() else time_scale
    return {
        "name": "mc-staging-local",
        "environment": "staging",
        "allowed_hosts": ["127.0.0.1", "localhost"],
        "time_scale": scale,
        "control": {
            "command": control_command(state_dir),
            "timeout_seconds": 30,
            "api_url": url(ports["control"]),
        },
        "glb_url": url(ports["glb"]),
        "admin": {"url": url(ports["control"]), "token_file": str(state_dir.admin_token_file)},
        "metrics": {
            "source": "scrape",
            "sample_interval_seconds": sample_interval,
            "endpoints": [
                {"component": "glb", "url": f"{url(ports['glb'])}/metrics"},
                {"component": "control", "url": f"{url(ports['control'])}/metrics"},
                *[
                    {
                        "component": f"region-{r.id}",
                        "url": f"{url(ports[f'region-{r.id}'])}/metrics",
                    }
                    for r in REGIONS
                ],
            ],
            "prometheus_url": None,
        },
        "regions": [
            {"id": r.id, "jurisdiction": r.jurisdiction, "url": url(ports[f"region-{r.id}"])}
            for r in REGIONS
        ],
        "tenants": [
            {
                "id": t.id,
                "wave": t.wave,
                "residency": t.residency,
                "mode": t.mode,
                "regions": list(t.regions),
                "autonomy_pilot": t.autonomy_pilot,
                "slo_baseline": t.readiness.slo_baseline.model_dump(),
            }
            for t in tenants
        ],
        "k6": {"binary": None},
        "chaos": {"experiments_dir": None},
    }


def write_profile(state_dir: StateDir, profile: dict[str, object]) -> Path:
    state_dir.profile_file.write_text(yaml.safe_dump(profile, sort_keys=False))
    return state_dir.profile_file
