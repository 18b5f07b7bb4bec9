"""Writing the §C artifacts: validated against their committed schema, written atomically.

A file an integration command writes is what a release, a runbook or a Grafana import reads
later, so it is checked against `schemas/NAME.schema.json` before it lands, and it lands
whole (temporary file and rename) or not at all.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from pydantic import BaseModel

from pytest_mc.errors import InputError
from pytest_mc.schemas import validate_instance


def write_text(path: Path, text: str, *, newline: str = "\n") -> Path:
    """Write `text` atomically; `newline=""` keeps the line endings it already has."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w", encoding="utf-8", newline=newline) as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return path


def json_document(model: BaseModel) -> dict[str, object]:
    """The model as the JSON users read (field aliases, ISO dates)."""
    return model.model_dump(mode="json", by_alias=True)


def write_model(model: BaseModel, path: Path, *, schema: str) -> Path:
    """Validate `model` against committed schema `schema`, then write it as JSON."""
    document = json_document(model)
    # A model that does not match its own committed schema is our bug, not the user's input,
    # but it must never reach a file: the schema is the contract the file is read by.
    validate_instance(schema, document, where=str(path), error=InputError)
    return write_text(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
