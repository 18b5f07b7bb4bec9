"""The tool inventory names k6 (version, digest), chaoslib, the suite and source commits."""

from __future__ import annotations

import hashlib
import os
import subprocess
from importlib import metadata
from pathlib import Path

import pytest

from pytest_mc.drivers.k6 import package_k6_binary
from pytest_mc.drivers.toolchain import tool_inventory
from pytest_mc.target.profile import TargetProfile

PROFILE: dict[str, object] = {
    "name": "unit-staging",
    "environment": "staging",
    "allowed_hosts": ["127.0.0.1"],
    "glb_url": "http://127.0.0.1:9",
    "metrics": {"endpoints": [{"component": "glb", "url": "http://127.0.0.1:9/metrics"}]},
    "regions": [{"id": "eu-west", "jurisdiction": "eu"}],
    "tenants": [
        {
            "id": "TENANT_001",
            "wave": "ga",
            "residency": "eu",
            "regions": ["eu-west"],
            "slo_baseline": {"availability": 0.999, "latency_p95_ms": 250},
        }
    ],
}


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def project(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    for directory in ("features", "chaos", "k6"):
        (root / directory).mkdir(parents=True)
        (root / directory / "file.txt").write_text(directory)
    git(root, "init", "-q")
    git(root, "add", "features", "chaos")
    git(root, "commit", "-q", "-m", "features and chaos")
    git(root, "add", "k6")
    git(root, "commit", "-q", "-m", "k6")
    return root


def test_inventory_names_k6_chaoslib_and_the_suite(tmp_path: Path) -> None:
    inventory = tool_inventory(TargetProfile.model_validate(PROFILE), project_root=tmp_path)
    packaged = package_k6_binary()
    assert packaged is not None
    assert inventory.k6 is not None
    assert inventory.k6.version == "1.1.0"
    assert inventory.k6.sha256 == hashlib.sha256(packaged.read_bytes()).hexdigest()
    assert inventory.chaostoolkit_lib == metadata.version("chaostoolkit-lib")
    tools = inventory.as_tools_dict()
    assert tools["k6"] == "1.1.0"
    assert tools["k6.sha256"] == inventory.k6.sha256
    assert tools["k6.pinned"] == "true"
    assert tools["chaostoolkit-lib"] == metadata.version("chaostoolkit-lib")
    assert tools["pytest-mc"] == metadata.version("pytest-mc")


def test_each_source_directory_is_named_by_its_last_commit(tmp_path: Path) -> None:
    root = project(tmp_path)
    first = git(root, "rev-parse", "HEAD~1")
    second = git(root, "rev-parse", "HEAD")
    (root / "chaos" / "file.txt").write_text("edited, not committed")
    inventory = tool_inventory(TargetProfile.model_validate(PROFILE), project_root=root)
    by_dir = {source.directory: source for source in inventory.sources}
    assert (by_dir["features"].commit, by_dir["features"].dirty) == (first, False)
    assert (by_dir["chaos"].commit, by_dir["chaos"].dirty) == (first, True)
    assert (by_dir["k6"].commit, by_dir["k6"].dirty) == (second, False)
    tools = inventory.as_tools_dict()
    assert tools["git:features"] == first
    assert tools["git:chaos"] == f"{first}+dirty"
    assert tools["git:k6"] == second


def test_outside_a_git_checkout_the_commits_are_unknown(tmp_path: Path) -> None:
    inventory = tool_inventory(TargetProfile.model_validate(PROFILE), project_root=tmp_path)
    assert [source.commit for source in inventory.sources] == [None, None, None]
    assert not any(key.startswith("git:") for key in inventory.as_tools_dict())


def test_a_missing_k6_is_recorded_not_raised(tmp_path: Path) -> None:
    broken = TargetProfile.model_validate({**PROFILE, "k6": {"binary": str(tmp_path / "k6")}})
    inventory = tool_inventory(broken, project_root=tmp_path)
    assert inventory.k6 is None
    assert inventory.k6_problem is not None
    assert "named in the profile (k6.binary) does not exist" in inventory.k6_problem
    assert inventory.as_tools_dict()["k6"].startswith("unavailable: k6 binary ")


def test_a_k6_that_is_not_the_pinned_one_is_recorded_as_the_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    impostor = tmp_path / "bin" / "k6"
    impostor.parent.mkdir()
    impostor.write_text('#!/bin/sh\necho "k6 v1.1.0 (impostor)"\n')
    impostor.chmod(0o755)
    monkeypatch.setenv("PATH", f"{impostor.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    inventory = tool_inventory(TargetProfile.model_validate(PROFILE), project_root=tmp_path)
    assert inventory.k6 is None
    assert inventory.k6_problem is not None
    assert "(found on PATH, k6 1.1.0) has sha256 " in inventory.k6_problem
    named = TargetProfile.model_validate({**PROFILE, "k6": {"binary": str(impostor)}})
    tools = tool_inventory(named, project_root=tmp_path).as_tools_dict()
    assert (tools["k6.source"], tools["k6.pinned"]) == ("profile", "false")
