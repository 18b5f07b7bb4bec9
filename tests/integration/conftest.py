"""`reference_staging`: a real reference staging started the way the suite starts one.

The suite's own tests (drivers, steps, features) reach the staging only as the suite does:
`mc-staging up` through `pytest_mc.target.local`, then the generated profile. One staging per
test module; `down` stops it and the fixture checks that every recorded pid is gone.
`run_project_feature` runs one of the project's features against a profile as a user does;
`defect_case` checks a `DefectCase` (tests/integration/defect_cases.py) against a staging
started with its defect.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from defect_cases import DefectCase, Selection

from pytest_mc.evidence.signing import generate_signing_key
from pytest_mc.policy.catalog import QiCatalog, load_catalog
from pytest_mc.target.loader import load_profile
from pytest_mc.target.local import LocalStaging, start_local_staging, stop_local_staging
from pytest_mc.target.profile import TargetProfile


@dataclass(frozen=True)
class ReferenceStaging:
    """A running reference staging: its profile (validated by the suite) and state dir."""

    profile: TargetProfile
    profile_path: Path
    state_dir: Path
    catalog: QiCatalog

    @property
    def admin_secret(self) -> str:
        assert self.profile.admin is not None
        assert self.profile.admin.token_file is not None
        return self.profile.admin.token_file.read_text().strip()


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _recorded_pids(state_dir: Path) -> list[int]:
    pids: list[int] = []
    for name in ("processes.json", "pids.json"):
        path = state_dir / name
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(path.read_text())
            values = data.values() if isinstance(data, dict) else data
            for value in values:
                pid = value.get("pid") if isinstance(value, dict) else value
                if isinstance(pid, int):
                    pids.append(pid)
    return pids


@contextlib.contextmanager
def running_staging(state_dir: Path, defects: tuple[str, ...] = ()) -> Iterator[ReferenceStaging]:
    """A reference staging in `state_dir` (with deliberate `defects`, if any) until exit."""
    local: LocalStaging = start_local_staging(state_dir, defects=defects)
    pids = _recorded_pids(state_dir)
    try:
        catalog = load_catalog()
        profile = load_profile(local.profile_path, catalog)
        yield ReferenceStaging(
            profile=profile, profile_path=local.profile_path, state_dir=state_dir, catalog=catalog
        )
    finally:
        stop_local_staging(local)
        pids += _recorded_pids(state_dir)
        leftovers = sorted({pid for pid in pids if _alive(pid)})
        for pid in leftovers:  # never leave a process behind, even if `down` failed
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert not leftovers, f"mc-staging down left pids {leftovers} running"


@pytest.fixture(scope="module")
def reference_staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceStaging]:
    with running_staging(tmp_path_factory.mktemp("reference-staging")) as staging:
        yield staging


@pytest.fixture
def staging_with_defect(
    tmp_path: Path,
) -> Callable[[str], contextlib.AbstractContextManager[ReferenceStaging]]:
    """`with staging_with_defect("glb-never-biases") as staging:` a deliberately broken one."""
    return lambda defect: running_staging(tmp_path / f"staging-{defect}", (defect,))


PROJECT_FEATURES = Path(__file__).resolve().parents[2] / "features"
_COLLECTOR = "from pytest_bdd import scenarios\n\nscenarios('.')\n"


@dataclass(frozen=True)
class FeatureRun:
    """A feature run through pytest with pytest-mc: exit code, output and the bundle, and
    the public key of the key it was signed with."""

    returncode: int
    output: str
    bundle: dict[str, Any]
    bundle_path: Path
    public_key: Path

    def tenant_section(self, tenant: str) -> dict[str, Any]:
        return dict(self.bundle["tenants"][tenant])


RunFeature = Callable[..., FeatureRun]


@pytest.fixture
def run_feature(tmp_path: Path) -> RunFeature:
    """`run_feature(profile_path, feature_text, *pytest_args)` in a fresh directory.

    The feature runs as a user runs one: `pytest -p mc --mc-target PROFILE` in a subprocess
    with plugin autoload off; the bundle it wrote is read back."""

    def run(profile: Path, feature: str, *extra: str) -> FeatureRun:
        directory = tmp_path / "features"
        directory.mkdir(exist_ok=True)
        (directory / "under_test.feature").write_text(feature)
        (directory / "test_under_test.py").write_text(_COLLECTOR)
        out = tmp_path / "out"
        key = tmp_path / "signing-key.pem"
        if not key.exists():
            generate_signing_key(key)
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
                "--mc-signing-key",
                str(key),
                str(directory),
                *extra,
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        bundle_path = out / "evidence-v0.3.1-mc.json"
        bundle = json.loads(bundle_path.read_text()) if bundle_path.exists() else {}
        public_key = key.with_name("signing-key.pub.pem")
        return FeatureRun(
            done.returncode, done.stdout + done.stderr, bundle, bundle_path, public_key
        )

    return run


@pytest.fixture
def run_project_feature(run_feature: RunFeature) -> RunFeature:
    """`run_project_feature(profile_path, "rollout.feature", *pytest_args)`: one of ours."""

    def run(profile: Path, name: str, *extra: str) -> FeatureRun:
        return run_feature(profile, (PROJECT_FEATURES / name).read_text(), *extra)

    return run


SelectionPasses = Callable[[Path, Selection], FeatureRun]


@pytest.fixture
def selection_passes(run_project_feature: RunFeature) -> SelectionPasses:
    """`selection_passes(profile_path, selection)`: the selection runs, and all of it passes."""

    def run(profile: Path, selection: Selection) -> FeatureRun:
        done = run_project_feature(profile, selection.feature, "-k", selection.select)
        assert done.returncode == 0, done.output
        assert f"{selection.scenarios} passed" in done.output, done.output
        return done

    return run


CheckDefectCase = Callable[[DefectCase], FeatureRun]


@pytest.fixture
def defect_case(
    staging_with_defect: Callable[[str], contextlib.AbstractContextManager[ReferenceStaging]],
    run_project_feature: RunFeature,
    selection_passes: SelectionPasses,
) -> CheckDefectCase:
    """`run = defect_case(case)`: against a staging started with `case.defect` (and listing
    it, and only it, in `/healthz`), the case's selection fails exactly `case.failing`, its
    output names every one of `case.messages`, the selection's other `case.passing`
    scenarios pass, and each of `case.unaffected` passes in full. Returns the failing run."""

    def check(case: DefectCase) -> FeatureRun:
        with staging_with_defect(case.defect) as staging:
            admin = staging.profile.admin
            assert admin is not None, f"the profile {staging.profile_path} names no admin API"
            health = httpx.get(f"{admin.url}/healthz", timeout=5).json()
            assert health["defects"] == [case.defect], health
            run = run_project_feature(staging.profile_path, case.feature, "-k", case.select)
            for selection in case.unaffected:
                selection_passes(staging.profile_path, selection)
        assert run.returncode == 1, run.output
        failed = [line for line in run.output.splitlines() if line.startswith("FAILED ")]
        assert len(failed) == 1, run.output
        assert f"::{case.failing}" in failed[0], failed[0]
        for message in case.messages:
            assert message in run.output, (message, run.output)
        assert f"1 failed, {case.passing} passed" in run.output, run.output
        # the reason, for the log of the suite's own tests (`-s` shows it)
        reasons = [line for line in run.output.splitlines() if line.startswith("E ")]
        print(next((line for line in reasons if "Error: " in line), ""))
        return run

    return check
