"""Shared pieces of the property-based input tests (a pytest plugin, listed in tests/conftest.py).

Hypothesis settings for CI (derandomized, no example database, no deadline), strategies of
hostile values and of mutations of a valid document, the checks every reader must pass (an
exit code from the documented set, at most one `error:` line of bounded length, never a
traceback), and the tally of inputs tried, printed at the end of the run.

`MC_PROPERTY_EXPLORE=N` multiplies every example budget by N and draws fresh random inputs
(not derandomized) for a longer local hunt.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

T = TypeVar("T")

MAX_ERROR_LINE = 1000
_EXPLORE = int(os.environ.get("MC_PROPERTY_EXPLORE", "0") or 0)


def examples(count: int) -> settings:
    """Settings of one property: `count` inputs per run (times MC_PROPERTY_EXPLORE)."""
    return settings(
        max_examples=count * max(1, _EXPLORE),
        derandomize=not _EXPLORE,
        database=None,
        deadline=None,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
    )


# -- hostile values ---------------------------------------------------------------------------

ODD_TEXT = (
    "",
    " ",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e300",
    "-1",
    "0",
    "true",
    "yes",
    "null",
    "2025-02-30",
    "9" * 5000,
    "x" * 5000,
    "{",
    "[" * 300,
    "\x00",
    "\udcff",
    "é" * 50,
    "TENANT_001",
    "eu-west",
)

scalars = st.one_of(
    st.booleans(),
    st.none(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([10**400, -(10**30), 2**63, 99_999_999_999]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(ODD_TEXT),
)
"""Leaves a reader must survive: booleans, None, huge ints, NaN/inf, odd and long strings."""

values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
"""Any JSON-like value, small and shallow."""


@dataclass(frozen=True)
class Nested:
    """A value nested `depth` lists deep, written out only by `as_json`/`as_yaml` (a real
    object that deep would defeat deepcopy, Hypothesis' printer and the writers themselves)."""

    depth: int

    @property
    def placeholder(self) -> str:
        return f"__nested_{self.depth}__"

    def text(self) -> str:
        return "[" * self.depth + "1" + "]" * self.depth


deep_values = st.sampled_from([40, 63, 64, 65, 66, 128, 400, 1200]).map(Nested)
"""Values nested a little under, at and just over the readers' depth limit (64), and past
the depth at which a recursive parser would run out of stack."""


def _placeholders(document: object) -> tuple[object, list[Nested]]:
    found: list[Nested] = []

    def swap(node: object) -> object:
        if isinstance(node, Nested):
            found.append(node)
            return node.placeholder
        if isinstance(node, dict):
            return {key: swap(child) for key, child in node.items()}
        if isinstance(node, list):
            return [swap(child) for child in node]
        return node

    return swap(document), found


def as_json(document: object) -> bytes:
    """`document` as JSON bytes (NaN stays NaN, lone surrogates become invalid UTF-8)."""
    plain, deep = _placeholders(document)
    text = json.dumps(plain, ensure_ascii=False)
    for value in deep:
        text = text.replace(f'"{value.placeholder}"', value.text())
    return text.encode("utf-8", errors="surrogatepass")


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's when PyYAML has it


def as_yaml(document: object) -> bytes:
    """`document` as YAML bytes (JSON, which YAML reads, for what YAML cannot write)."""
    plain, deep = _placeholders(document)
    try:
        text = yaml.dump(plain, Dumper=_DUMPER, sort_keys=False, allow_unicode=True)
    except (yaml.YAMLError, UnicodeEncodeError):  # libyaml refuses lone surrogates
        return as_json(document)
    for value in deep:
        text = text.replace(value.placeholder, value.text())
    return text.encode("utf-8", errors="surrogatepass")


# -- mutations of a valid document ------------------------------------------------------------

Path = tuple[Any, ...]


def paths(document: object) -> list[Path]:
    """Every path (keys and indexes) into `document`, the root included."""
    found: list[Path] = []
    stack: list[tuple[Path, object]] = [((), document)]
    while stack:
        path, node = stack.pop()
        found.append(path)
        if isinstance(node, dict):
            stack += [((*path, key), child) for key, child in node.items()]
        elif isinstance(node, list):
            stack += [((*path, index), child) for index, child in enumerate(node)]
    return sorted(found, key=repr)


def _parent(document: object, path: Path) -> Any:
    node: Any = document
    for part in path[:-1]:
        node = node[part]
    return node


@st.composite
def mutated(draw: st.DrawFn, document: object, everywhere: list[Path] | None = None) -> object:
    """A copy of `document` with one to three changes: a value replaced by a hostile one or
    nested deeply, a key dropped or added, a list emptied or repeated, a number made a bool."""
    where = everywhere if everywhere is not None else paths(document)
    copied = copy.deepcopy(document)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(where))
        if not path:
            return draw(st.one_of(values, deep_values))
        try:
            parent = _parent(copied, path)
            key = path[-1]
            current = parent[key]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed this path
        operation = draw(
            st.sampled_from(["replace", "replace", "deep", "drop", "add", "bool", "repeat"])
        )
        if operation == "replace":
            parent[key] = draw(values)
        elif operation == "deep":
            parent[key] = draw(deep_values)
        elif operation == "drop":
            del parent[key]
        elif operation == "add" and isinstance(current, dict):
            current[draw(st.text(min_size=1, max_size=12))] = draw(values)
        elif operation == "bool":
            parent[key] = draw(st.booleans())
        elif operation == "repeat" and isinstance(current, list):
            parent[key] = current * draw(st.integers(min_value=0, max_value=3))
        else:
            parent[key] = draw(scalars)
    return copied


@st.composite
def damaged_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` truncated, with bytes flipped, or with junk spliced in."""
    operation = draw(st.sampled_from(["truncate", "flip", "splice", "garbage"]))
    if operation == "truncate":
        return data[: draw(st.integers(min_value=0, max_value=max(0, len(data) - 1)))]
    if operation == "garbage":
        return draw(st.binary(max_size=200))
    at = draw(st.integers(min_value=0, max_value=max(0, len(data) - 1)))
    if operation == "flip":
        return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
    return data[:at] + draw(st.binary(min_size=1, max_size=20)) + data[at:]


# -- the property every reader must have ------------------------------------------------------


def check_outcome(code: int, err: str, allowed: set[int], *, prefix: str = "error: ") -> None:
    """`code` is documented for this command; a failure says so in one bounded line."""
    assert code in allowed, f"exit {code} not in {sorted(allowed)}: {err[:2000]}"
    problems = [line for line in err.splitlines() if not line.startswith("warning: ")]
    if code == 0:
        assert not problems, err[:2000]
        return
    assert len(problems) == 1, f"expected one error line, got {len(problems)}: {err[:2000]}"
    line = problems[0]
    assert line.startswith(prefix), line[:2000]
    assert len(line) <= MAX_ERROR_LINE, f"error line of {len(line)} characters: {line[:300]}"
    assert "Traceback" not in line


# -- the tally --------------------------------------------------------------------------------


@dataclass
class Tally:
    """Inputs tried and tracebacks seen, per property, for the summary at the end."""

    tried: dict[str, int] = field(default_factory=dict)
    tracebacks: dict[str, int] = field(default_factory=dict)


_TALLY = pytest.StashKey[Tally]()


@dataclass
class PropertyCounter:
    """Counts the inputs one property tried; `call` also counts an escaping exception."""

    name: str
    tally: Tally

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        self.tally.tried[self.name] = self.tally.tried.get(self.name, 0) + 1
        try:
            return function(*args, **kwargs)
        except BaseException:
            self.tally.tracebacks[self.name] = self.tally.tracebacks.get(self.name, 0) + 1
            raise


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_TALLY] = Tally()


@pytest.fixture
def tried(request: pytest.FixtureRequest) -> PropertyCounter:
    """The counter of the property under test (its inputs go into the end-of-run summary)."""
    return PropertyCounter(request.node.nodeid, request.config.stash[_TALLY])


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    tally = config.stash.get(_TALLY, None)
    if tally is None or not tally.tried:
        return
    inputs = sum(tally.tried.values())
    tracebacks = sum(tally.tracebacks.values())
    terminalreporter.write_sep("-", "property-based input tests")
    terminalreporter.write_line(
        f"{inputs} inputs tried by {len(tally.tried)} properties; {tracebacks} tracebacks"
    )
    for name, count in sorted(tally.tracebacks.items()):
        terminalreporter.write_line(f"  {count} tracebacks: {name}")
