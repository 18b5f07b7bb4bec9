"""Suite-wide plugins. `pytest_plugins` is honoured only in a top-level conftest, so the
plugin tests' `pytester` and the property-based input tests' tally (tests/input_properties.py)
are requested here rather than in the directories that use them."""

from __future__ import annotations

pytest_plugins = ["pytester", "input_properties"]
