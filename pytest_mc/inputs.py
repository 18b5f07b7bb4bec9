"""Reading user files (YAML or JSON) into pydantic models with one-line, located errors.

Every file a user hands us (target profile, QI catalog) goes through `load_model`: a missing
file, malformed YAML, a duplicate key, an unknown field or a wrong type becomes one
`InputError` subclass naming file:line, the dotted field path and what to do, never a
traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from pytest_mc.errors import InputError

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class FileKind:
    """How to speak of one kind of input file in error messages."""

    name: str  # "QI catalog", "target profile"
    error: type[InputError]
    missing_hint: str  # what to do when the file is missing
    shape: str = ""  # e.g. " (version, status, qis, ...)"
    fix_hint: str = "fix that field"


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate mapping keys instead of keeping the last one."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[object, object]:
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
        seen.add(key)
    return dict(loader.construct_mapping(node))


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_mapping(path: Path, kind: FileKind) -> tuple[dict[str, object], str]:
    """The YAML mapping at `path` and its text (for locating errors later)."""
    if not path.exists():
        raise kind.error(f"{kind.name} not found: {path}; {kind.missing_hint}")
    if not path.is_file():
        raise kind.error(f"{kind.name} {path} is not a file; {kind.missing_hint}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise kind.error(f"cannot read {kind.name} {path}: {exc}") from None
    try:
        data: object = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        place = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise kind.error(
            f"{place}: malformed YAML in {kind.name}: {problem}; fix the syntax there"
        ) from None
    if not isinstance(data, dict):
        found = "nothing" if data is None else type(data).__name__
        raise kind.error(f"{path}: a {kind.name} must be a YAML mapping{kind.shape}, found {found}")
    return data, text


def validation_message(path: Path, text: str, exc: ValidationError, kind: FileKind) -> str:
    """One line for the first validation error: file:line, dotted field, message."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    location = tuple(first["loc"])
    line = line_of(text, location)
    place = f"{path}:{line}" if line is not None else str(path)
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = f"unknown field (not part of the {kind.name} format)"
    elif first["type"] not in ("value_error", "missing") and "input" in first:
        message += f" (got {first['input']!r})"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    field = dotted(location) or "(top level)"
    return f"{place}: invalid {kind.name}: {field}: {message}{more}; {kind.fix_hint}"


def load_model(path: Path, model: type[ModelT], kind: FileKind) -> ModelT:
    """Parse `path` (YAML, which includes JSON) and validate it as `model`."""
    data, text = read_mapping(path, kind)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise kind.error(validation_message(path, text, exc, kind)) from None


def dotted(location: Sequence[int | str]) -> str:
    """`('tenants', 0, 'regions')` → `tenants[0].regions`."""
    out = ""
    for part in location:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def line_of(text: str, location: Sequence[int | str]) -> int | None:
    """The 1-based line of the YAML node at `location`, or of its nearest existing parent."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line: int | None = None if node is None else node.start_mark.line + 1
    for part in location:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key_node, value_node in node.value:
                if key_node.value == part:
                    child = value_node
                    line = key_node.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line
