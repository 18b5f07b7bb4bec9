"""Suite-wide plugins. `pytest_plugins` is honoured only in a top-level conftest, so the
plugin tests' `pytester` is requested here rather than in tests/plugin/conftest.py."""

from __future__ import annotations

pytest_plugins = ["pytester"]
