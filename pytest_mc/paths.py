"""Where the project's own files are: features/, schemas/, chaos/, k6/.

From a source checkout (or an editable install) they sit next to the package; a wheel
carries copies under `pytest_mc/_project/`.
"""

from __future__ import annotations

from pathlib import Path

from pytest_mc.errors import ToolMissingError

_PACKAGE = Path(__file__).resolve().parent


def project_dir(name: str) -> Path:
    """The project directory `name` (e.g. "features"), wherever this install keeps it."""
    for candidate in (_PACKAGE / "_project" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise ToolMissingError(
        f"the project's {name}/ directory is not next to {_PACKAGE}; reinstall pytest-mc "
        f"(pip install -e . from a checkout)"
    )
