"""Run a feature written in a test through pytest with pytest-mc against a real target."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUNNER = "from pytest_bdd import scenarios\n\nscenarios('.')\n"


@dataclass(frozen=True)
class FeatureRun:
    returncode: int
    output: str
    bundle: dict[str, Any]

    def tenant_section(self, tenant: str) -> dict[str, Any]:
        return dict(self.bundle["tenants"][tenant])


def run_feature(tmp_path: Path, profile: Path, feature: str, *extra: str) -> FeatureRun:
    """Write `feature` into a fresh directory and run it with `-p mc --mc-target profile`."""
    directory = tmp_path / "features"
    directory.mkdir()
    (directory / "under_test.feature").write_text(feature)
    (directory / "test_under_test.py").write_text(RUNNER)
    out = tmp_path / "out"
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "true", "K6_NO_USAGE_REPORT": "true"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "mc",
            "-p",
            "no:cacheprovider",
            "-q",
            f"--rootdir={tmp_path}",
            "--mc-target",
            str(profile),
            "--mc-out",
            str(out),
            str(directory),
            *extra,
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    bundle_path = out / "evidence-v0.3.1-mc.json"
    bundle = json.loads(bundle_path.read_text()) if bundle_path.exists() else {}
    return FeatureRun(done.returncode, done.stdout + done.stderr, bundle)
