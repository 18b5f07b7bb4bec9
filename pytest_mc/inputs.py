"""Reading user files (YAML or JSON) into pydantic models with one-line, located errors.

Every file a user hands us goes through `load_model`: a missing file, malformed YAML, an
unknown field or a wrong type becomes one `InputError` subclass naming file:line, the
dotted field path and what to do, never a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from pytest_mc.errors import InputError

ModelT = TypeVar("ModelT", bound=BaseModel)


def load_model(
    path: Path, model: type[ModelT], *, what: str, error: type[InputError], hint: str
) -> ModelT:
    """Parse `path` (YAML, which includes JSON) and validate it as `model`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{what} not found: {path}; {hint}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{what} {path} cannot be read: {exc}; {hint}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{what} {where}: malformed YAML ({problem}); fix the syntax there") from None
    if not isinstance(data, dict):
        raise error(f"{what} {path}: expected a mapping at the top level, found {_kind(data)}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = first["loc"]
        line = _line_of(node, location)
        where = f"{path}:{line}" if line else str(path)
        field = dotted(location) or "(top level)"
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = "unknown field"
        elif "input" in first and first["type"] not in ("missing",):
            message = f"{message} (got {first['input']!r})"
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise error(f"{what} {where}: {field}: {message}{more}; {hint}") from None


def dotted(location: Sequence[int | str]) -> str:
    """`('tenants', 0, 'regions')` → `tenants[0].regions`."""
    out = ""
    for part in location:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(node: yaml.Node | None, location: Sequence[int | str]) -> int | None:
    """1-based line of the deepest YAML node along `location` that exists."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in location:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part]
            keys = [k for k, _ in node.value if isinstance(k, yaml.ScalarNode) and k.value == part]
            if not match:
                return line
            line = keys[0].start_mark.line + 1
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _kind(data: object) -> str:
    return "nothing" if data is None else type(data).__name__
