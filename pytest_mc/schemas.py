"""JSON Schemas (2020-12) generated from the pydantic models, and validation against them.

`schemas/*.schema.json` are committed; `python -m pytest_mc.schemas` regenerates them and
a test fails when a committed schema drifts from its model. Files we write and read are
validated with jsonschema against the committed schemas, not against the models, so the
schemas an auditor is given are the ones actually enforced.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
from pydantic import BaseModel

from pytest_mc.errors import BundleError, InputError, one_line
from pytest_mc.paths import project_dir

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_VERSION = 1


def _models() -> dict[str, type[BaseModel]]:
    # Imported here: the models import this module's validator.
    from pytest_mc.dod.decision import Week5Decision
    from pytest_mc.dod.items import DodReport
    from pytest_mc.evidence.bundle import EvidenceBundle
    from pytest_mc.evidence.records import ChainRecord
    from pytest_mc.evidence.signing import DsseEnvelope
    from pytest_mc.integration.dr_schedule import DrDrillSchedule
    from pytest_mc.integration.ga_delta_models import GaDeltaReport
    from pytest_mc.integration.privacy_tiles import GrafanaDashboard
    from pytest_mc.policy.catalog import QiCatalog
    from pytest_mc.target.profile import TargetProfile

    return {
        "target-profile": TargetProfile,
        "qi-catalog": QiCatalog,
        "evidence-record": ChainRecord,
        "evidence-bundle": EvidenceBundle,
        "dsse-envelope": DsseEnvelope,
        "ga-delta-report": GaDeltaReport,
        "dr-drill-schedule": DrDrillSchedule,
        "grafana-dashboard": GrafanaDashboard,
        "dod-report": DodReport,
        "week5-decision": Week5Decision,
    }


def schema_id(name: str) -> str:
    return f"urn:pytest-mc:schema:{name}:{SCHEMA_VERSION}"


def generate(name: str) -> dict[str, object]:
    """The schema of model `name`, with a stable `$id` and the 2020-12 dialect."""
    model = _models()[name]
    body = model.model_json_schema(mode="serialization")
    return {"$schema": DIALECT, "$id": schema_id(name), **body}


def schema_dir() -> Path:
    """Where the committed schemas are: inside an installed wheel, or the source checkout."""
    return project_dir("schemas")


def schema_path(name: str) -> Path:
    return schema_dir() / f"{name}.schema.json"


@functools.cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads(schema_path(name).read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator: jsonschema.protocols.Validator = cls(schema)
    return validator


def validate_instance(
    name: str, document: Mapping[str, Any], *, where: str, error: type[InputError] = BundleError
) -> None:
    """Validate `document` against committed schema `name`; raise naming the first violation."""
    failure = jsonschema.exceptions.best_match(_validator(name).iter_errors(document))
    if failure is not None:
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in failure.absolute_path)
        raise error(
            f"{where}: {one_line(path.lstrip('.'), 200) or '(top level)'}: "
            f"{one_line(failure.message, 400)} "
            f"(does not match schemas/{name}.schema.json)"
        )


def write_all(directory: Path, *, echo: Callable[[str], object] = print) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in _models():
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(generate(name), indent=2, sort_keys=True) + "\n")
        echo(f"wrote {path}")


if __name__ == "__main__":
    write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("schemas"))
