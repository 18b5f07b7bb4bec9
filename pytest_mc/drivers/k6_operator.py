"""A k6-operator `TestRun` manifest for load that one machine cannot generate.

The manifest runs the same `k6/tenant-traffic.js` with the same `-e` variables and the same
catalog-derived thresholds as the local driver, split over `parallelism` runner pods (k6
execution segments divide the VUs and iterations). The operator splits `spec.arguments` on
spaces and may hand it to a shell, so every value must be a plain token: the thresholds
travel base64url-encoded (`THRESHOLDS_B64`) and, readable, in an annotation.
"""

from __future__ import annotations

import base64
import re

import yaml
from pydantic import BaseModel, ConfigDict, Field

from pytest_mc.drivers.k6 import TENANT_SCRIPT, derive_thresholds, script_env
from pytest_mc.drivers.k6_models import ExecutionSegment, K6Load, K6Thresholds
from pytest_mc.errors import InputError
from pytest_mc.policy.catalog import QiCatalog
from pytest_mc.target.profile import TargetProfile

_STRICT = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
_SHELL_SAFE = re.compile(r"[A-Za-z0-9_./:@%+=,-]+")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
THRESHOLDS_ANNOTATION = "pytest-mc/thresholds"


class ConfigMapScript(BaseModel):
    """The script's location: a key of a ConfigMap in the TestRun's namespace."""

    model_config = _STRICT
    name: str
    file: str


class ScriptSource(BaseModel):
    model_config = _STRICT
    config_map: ConfigMapScript = Field(alias="configMap")


class K6TestRunSpec(BaseModel):
    """The subset of k6-operator's TestRunSpec this suite sets."""

    model_config = _STRICT
    parallelism: int = Field(ge=1)
    separate: bool
    script: ScriptSource
    arguments: str


class ObjectMeta(BaseModel):
    model_config = _STRICT
    name: str
    namespace: str | None = None
    labels: dict[str, str]
    annotations: dict[str, str]


class K6TestRunManifest(BaseModel):
    """A `k6.io/v1alpha1` `TestRun` resource."""

    model_config = _STRICT
    api_version: str = Field(default="k6.io/v1alpha1", alias="apiVersion")
    kind: str = "TestRun"
    metadata: ObjectMeta
    spec: K6TestRunSpec

    def to_yaml(self) -> str:
        document = self.model_dump(by_alias=True, exclude_none=True)
        return yaml.safe_dump(document, sort_keys=False, width=4096)


def _b64url(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _checked_token(name: str, value: str) -> str:
    if not _SHELL_SAFE.fullmatch(value):
        raise InputError(
            f"{name}={value!r} cannot go into a k6-operator TestRun: spec.arguments is split on "
            "spaces and may pass through a shell; use a value of letters, digits and ./:@%+=,-"
        )
    return value


def operator_arguments(
    profile: TargetProfile, tenant: str, load: K6Load, thresholds: K6Thresholds, *, run_id: str
) -> str:
    """`spec.arguments`: the local driver's `-e` variables, thresholds base64url-encoded."""
    pairs = (*script_env(profile, tenant, load, run_id=run_id, thresholds=thresholds),)
    pairs += (("THRESHOLDS_B64", _b64url(thresholds.as_k6_json())),)
    if load.purpose == "":
        raise InputError(
            "an empty purpose cannot be passed in a k6-operator TestRun's arguments; "
            "give the purpose the load should carry"
        )
    return " ".join(f"-e {name}={_checked_token(name, value)}" for name, value in pairs)


def operator_manifest(
    profile: TargetProfile,
    catalog: QiCatalog,
    tenant_id: str,
    load: K6Load,
    *,
    parallelism: int,
    config_map: str = "mc-k6-scripts",
    namespace: str | None = None,
    name: str | None = None,
    run_id: str = "pytest-mc",
    separate: bool = True,
) -> K6TestRunManifest:
    """The TestRun that runs `load` against `tenant_id` on `parallelism` runner pods."""
    try:
        tenant = profile.tenant(tenant_id)
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None
    ExecutionSegment.split_load(load, parallelism, runners="runner pods")
    resource = name or f"mc-{tenant.id.lower().replace('_', '-')}-{run_id.lower()}"
    resource = re.sub(r"[^a-z0-9-]", "-", resource)[:53].strip("-")
    for label, value in (("name", resource), ("config map", config_map)):
        if not _DNS_LABEL.fullmatch(value):
            raise InputError(
                f"{label} {value!r} is not a valid Kubernetes name (lower-case letters, digits "
                "and '-', starting and ending with a letter or digit)"
            )
    thresholds = derive_thresholds(catalog, tenant)
    return K6TestRunManifest(
        metadata=ObjectMeta(
            name=resource,
            namespace=namespace,
            labels={
                "app.kubernetes.io/part-of": "pytest-mc",
                "pytest-mc/tenant": tenant.id,
                "pytest-mc/run-id": run_id,
            },
            annotations={
                THRESHOLDS_ANNOTATION: thresholds.as_k6_json(),
                "pytest-mc/qi-catalog": f"{catalog.version} {catalog.digest}",
                "pytest-mc/target": profile.name,
            },
        ),
        spec=K6TestRunSpec(
            parallelism=parallelism,
            separate=separate,
            script=ScriptSource(
                configMap=ConfigMapScript(name=config_map, file=TENANT_SCRIPT),
            ),
            arguments=operator_arguments(
                profile, tenant.id, load, thresholds, run_id=_checked_token("RUN_ID", run_id)
            ),
        ),
    )
