"""Reading user files (YAML or JSON) into pydantic models with one-line, located errors.

Every file a user hands us (target profile, QI catalog) goes through `load_model`: a missing
file, malformed YAML, a duplicate key, an unknown field or a wrong type becomes one
`InputError` subclass naming file:line, the dotted field path and what to do, never a
traceback. Evidence files (bundle, envelope) are read by `read_json_object`, which refuses
what the JSON module would otherwise crash on or accept silently: nesting deeper than
`MAX_DEPTH`, bytes that are not UTF-8, NaN/Infinity, duplicate keys, files over a size cap.

`quote` is the one way a value from a file is shown in a message: cut to about
`QUOTE_LIMIT` characters, so an error line never carries a whole 500 KB value.
"""

from __future__ import annotations

import json
import reprlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TypeVar

import yaml
from pydantic import AllowInfNan, BaseModel, Strict, ValidationError

from pytest_mc.errors import InputError

ModelT = TypeVar("ModelT", bound=BaseModel)

QUOTE_LIMIT = 200
"""About how many characters of a value an error message quotes."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists any document we read may have (ours use about 10)."""
MAX_YAML_BYTES = 8 * 1024 * 1024
"""Largest profile or catalog read (the shipped catalog is about 20 KB)."""
MAX_JSON_BYTES = 512 * 1024 * 1024
"""Largest evidence document read (a long rehearsal's bundle is a few MB)."""

FiniteNumber = Annotated[float, Strict(), AllowInfNan(False)]
"""A number field of a user file: an integer is fine; a boolean, a numeric string, NaN and
infinity are not (YAML's `true` would otherwise be read as 1, and `.inf` as a number)."""
Flag = Annotated[bool, Strict()]
"""A yes/no field of a user file: `true` or `false`, not 1, 0 or "yes"."""


class _Quoter(reprlib.Repr):
    """`repr` bounded in depth, items and characters, safe on any size of integer."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxdict = self.maxlist = self.maxtuple = self.maxset = 6
        self.maxstring = self.maxother = QUOTE_LIMIT
        self.maxlong = 40

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 128:  # repr of a huge int is slow and, past 4300 digits, refused
            return f"<an integer of about {int(x.bit_length() * 0.30103) + 1} digits>"
        return super().repr_int(x, level)


_QUOTER = _Quoter()


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """`repr(value)` for a message: at most about `limit` characters, saying what was cut."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value)} characters)"
    try:
        text = _QUOTER.repr(value)
    except Exception:  # a value whose repr fails still gets a message
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else f"{text[:limit]}…"


def bounded(text: str, limit: int = QUOTE_LIMIT) -> str:
    """`text` (a name, a path, a field) cut to about `limit` characters."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def too_deep(data: object, limit: int = MAX_DEPTH) -> bool:
    """Whether mappings and lists nest deeper than `limit` in `data` (or refer to themselves).

    Level by level and without recursion; nodes shared through YAML aliases are visited once
    per level, so an alias "bomb" costs its distinct nodes, not its expansion.
    """
    level: list[object] = [data]
    for _ in range(limit):
        children: dict[int, object] = {}
        for node in level:
            items: Sequence[object] | None = None
            if isinstance(node, dict):
                items = list(node.values())
            elif isinstance(node, list | tuple):
                items = node
            for child in items or ():
                if isinstance(child, dict | list | tuple):
                    children[id(child)] = child
        if not children:
            return False
        level = list(children.values())
    return True


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
        try:
            duplicate = key in seen
        except TypeError:  # a list or mapping as a key
            raise yaml.constructor.ConstructorError(
                None, None, f"a mapping key cannot be a {type(key).__name__}", key_node.start_mark
            ) from None
        if duplicate:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {quote(key)}", mark)
        seen.add(key)
    return dict(loader.construct_mapping(node))


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_bytes(path: Path, what: str, error: type[InputError], hint: str, limit: int) -> bytes:
    """The bytes of a user file, refused when missing, not a file, unreadable or too large."""
    if not path.exists():
        raise error(f"{what} not found: {path}{hint}")
    if not path.is_file():
        raise error(f"{what} {path} is not a file{hint}")
    try:
        size = path.stat().st_size
        if size > limit:
            raise error(
                f"{what} {path} is {size} bytes, more than the {limit} bytes a {what} may "
                f"have; point at the right file"
            )
        return path.read_bytes()
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def _utf8(data: bytes, path: Path, what: str, error: type[InputError], hint: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"{what} {path} is not UTF-8 text (byte {exc.start} is {data[exc.start]:#04x}){hint}"
        ) from None


def read_mapping(path: Path, kind: FileKind) -> tuple[dict[str, object], str]:
    """The YAML mapping at `path` and its text (for locating errors later)."""
    hint = f"; {kind.missing_hint}"
    text = _utf8(
        _read_bytes(path, kind.name, kind.error, hint, MAX_YAML_BYTES),
        path,
        kind.name,
        kind.error,
        "; save it as UTF-8",
    )
    try:
        data: object = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = bounded(" ".join(str(getattr(exc, "problem", None) or exc).split()))
        place = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise kind.error(
            f"{place}: malformed YAML in {kind.name}: {problem}; fix the syntax there"
        ) from None
    except RecursionError:
        raise kind.error(_too_deep_message(path, kind.name)) from None
    except (ValueError, OverflowError) as exc:  # e.g. a date 2025-02-30, a 5000-digit number
        raise kind.error(
            f"{path}: a value in the {kind.name} cannot be read: {bounded(str(exc))}; "
            f"fix that value"
        ) from None
    if not isinstance(data, dict):
        found = "nothing" if data is None else type(data).__name__
        raise kind.error(f"{path}: a {kind.name} must be a YAML mapping{kind.shape}, found {found}")
    if too_deep(data):
        raise kind.error(_too_deep_message(path, kind.name))
    return data, text


def _too_deep_message(path: Path, what: str) -> str:
    return (
        f"{path}: the {what} nests mappings or lists more than {MAX_DEPTH} levels deep (or an "
        f"alias refers to itself); no {what} needs that: point at the right file"
    )


def read_json_object(
    path: Path,
    *,
    what: str,
    error: type[InputError],
    hint: str = "it was altered or truncated",
    limit: int = MAX_JSON_BYTES,
) -> dict[str, object]:
    """The JSON object in the file at `path` (`what`: "evidence bundle", "DSSE envelope").

    Refused with one `error` line: a missing or oversized file, bytes that are not UTF-8,
    malformed JSON, NaN or Infinity (not JSON), an integer beyond ±(2^53 − 1), a duplicate
    key, nesting deeper than `MAX_DEPTH`, a top level that is not an object.
    """
    data = _read_bytes(path, what, error, "", limit)
    return parse_json_object(data, where=f"{what} {path}", error=error, hint=hint)


def parse_json_object(
    text: str | bytes, *, where: str, error: type[InputError], hint: str = "it was altered"
) -> dict[str, object]:
    """`text` parsed as one JSON object, refused as `read_json_object` refuses a file.

    `where` names the document in messages ("evidence chain X.jsonl:12"). Bytes must be
    UTF-8 (RFC 8259), not whatever encoding `json` would guess.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise error(
                f"{where} is not valid JSON (not UTF-8: byte {exc.start} is "
                f"{text[exc.start]:#04x}); {hint}"
            ) from None
    try:
        document: object = json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_exact_integer,
            object_pairs_hook=_unique_keys,
        )
    except RecursionError:
        document = None
        deep = True
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, a huge integer, our hooks
        raise error(f"{where} is not valid JSON ({bounded(str(exc))}); {hint}") from None
    else:
        deep = too_deep(document)
    if deep:
        raise error(f"{where} nests objects or arrays more than {MAX_DEPTH} levels deep; {hint}")
    if not isinstance(document, dict):
        raise error(f"{where}: top level is not a JSON object; {hint}")
    return document


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(literal: str) -> float:
    number = float(literal)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"number {bounded(literal, 40)} is too large for a float")
    return number


# The integers every JSON reader holds exactly, and the only ones RFC 8785 canonicalizes (the
# chain's record hashes): ±(2^53 − 1), I-JSON (RFC 7493 §2.2).
MAX_EXACT_INTEGER = 2**53 - 1


def _exact_integer(literal: str) -> int:
    digits = literal.lstrip("-")
    if len(digits) <= 16 and abs(number := int(literal)) <= MAX_EXACT_INTEGER:
        return number
    raise ValueError(
        f"integer {bounded(literal, 40)} is outside ±(2^53 − 1), the integers JSON holds exactly"
    )


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {quote(key)}")
            seen.add(key)
    return document


def validation_message(path: Path, text: str, exc: ValidationError, kind: FileKind) -> str:
    """One line for the first validation error: file:line, dotted field, message."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    location = tuple(first["loc"])
    line = line_of(text, location)
    place = f"{path}:{line}" if line is not None else str(path)
    message = bounded(str(first["msg"]).removeprefix("Value error, "), 2 * QUOTE_LIMIT)
    if first["type"] == "extra_forbidden":
        message = f"unknown field (not part of the {kind.name} format)"
    elif first["type"] in ("float_type", "int_type") and isinstance(first.get("input"), bool):
        message = f"a boolean is not a number (got {first['input']!r}); give a number"
    elif first["type"] not in ("value_error", "missing") and "input" in first:
        message += f" (got {quote(first['input'])})"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    field = bounded(dotted(location)) or "(top level)"
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
    except (yaml.YAMLError, RecursionError):
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
