"""The complete example of docs/writing-steps.md runs as written and records what it says."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from pytest_mc.evidence.signing import TRUST_ENV, generate_signing_key

PROFILE = {
    "name": "docs-example",
    "environment": "staging",
    "allowed_hosts": ["127.0.0.1"],
    "time_scale": 600,
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
            "id": "TENANT_004",
            "wave": "A",
            "residency": "eu",
            "regions": ["eu-west", "eu-central"],
            "slo_baseline": {"availability": 0.999, "latency_p95_ms": 250},
        }
    ],
}


def code_block(text: str, language: str, after: str) -> str:
    start = text.index(after)
    match = re.compile(rf"```{language}\n(.*?)```", re.S).search(text, start)
    assert match is not None, f"no ```{language} block after {after!r}"
    return match.group(1)


def test_the_documented_example_runs_and_lands_in_the_tenant_section(tmp_path: Path) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "writing-steps.md").read_text()
    features = tmp_path / "features"
    features.mkdir()
    (features / "lag_gate.feature").write_text(code_block(doc, "gherkin", "lag_gate.feature"))
    (features / "test_lag_gate.py").write_text(code_block(doc, "python", "test_lag_gate.py"))
    (tmp_path / "profile.yaml").write_text(yaml.safe_dump(PROFILE))
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "true"}
    env.pop(TRUST_ENV, None)
    generate_signing_key(tmp_path / ".mc" / "signing-key.pem")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "pytest_mc.plugin",
            "--mc-target",
            "profile.yaml",
            "--mc-out",
            "out",
            "--mc-signing-key",
            ".mc/signing-key.pem",
            "features/test_lag_gate.py",
            "-q",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    bundle = json.loads((tmp_path / "out" / "evidence-v0.3.1-mc.json").read_text())
    section = bundle["tenants"]["TENANT_004"]
    assert [s["outcome"] for s in section["scenarios"]] == ["passed"]
    [measurement] = section["measurements"]
    assert (measurement["qi_id"], measurement["value"], measurement["verdict"]) == (
        "replication_lag",
        12,
        "pass",
    )
    verified = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_mc.cli.main",
            "evidence",
            "verify",
            str(tmp_path / "out" / "evidence-v0.3.1-mc.json"),
            "--public-key",
            str(tmp_path / ".mc" / "signing-key.pub.pem"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
