"""`mc-verify target check`: a non-destructive preflight of the whole target contract.

A user pointing the suite at their own staging should learn that a control command or a
metric is missing before the first scenario, not when the scenario that needs it fails at
hour 20 of a bake. The check goes through the contract capability by capability and says,
for each, what it found and what to do about a miss:

* **fence**: the profile is a staging whose every host is in `allowed_hosts` (the rehearsal
  changes the target, so nothing else may be rehearsed against);
* **admin secret**: `admin.token_file` is readable (or `admin.token_env` set) and not empty;
  the secret is read, never printed;
* **control reads**: every read command of the contract answers `--json` with a document that
  parses into the contract's model (`tenant status` and `readiness show` for every tenant,
  `autonomy status` for the pilot, the rest once);
* **control API** (when the profile names `control.api_url`): a read answers over it;
* **metrics**: every contract metric (docs/target-contract.md §4) is exported by some
  endpoint of its component kind, and the profile names an endpoint of each kind;
* **data plane**: a persisted read of each tenant answers (200 or 404) through the GLB and
  directly at each of the tenant's regions that has a url;
* **experiments**: every chaos experiment resolves its configuration from the profile, every
  URL in it inside `allowed_hosts`.

Nothing here writes: the control commands are the contract's reads, the data-plane requests
are reads of a key nobody writes. `run_target_check` returns every row; the caller prints the
table and exits 0 (all present) or 3 (the target cannot be rehearsed as it is).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, RootModel

from pytest_mc.drivers.autonomy_models import AutonomyStatus
from pytest_mc.drivers.chaos import load_experiment_file
from pytest_mc.drivers.chaos_target import admin_secret, check_hosts, target_configuration
from pytest_mc.drivers.control import ControlClient, command_words, parse_as
from pytest_mc.drivers.control_api import ControlApi
from pytest_mc.drivers.control_models import (
    DpoPages,
    DrStatus,
    Fault,
    Flags,
    GlbView,
    ProvenanceLog,
    ReadinessRecord,
    Rollout,
    TenantStatus,
    TripwireEvents,
)
from pytest_mc.drivers.dataplane import GLB, DataPlaneClient
from pytest_mc.drivers.runner import ToolRunner
from pytest_mc.errors import McError, TargetError
from pytest_mc.metrics.scrape import declared_metrics, parse_exposition
from pytest_mc.paths import project_dir
from pytest_mc.target.contract_metrics import (
    CONTRACT_METRICS,
    ComponentKind,
    component_kind,
    missing_metrics,
)
from pytest_mc.target.fence import change_refusal
from pytest_mc.target.profile import TargetProfile

PREFLIGHT_KEY = "mc-preflight-never-written"
_TARGET = ConfigDict(extra="ignore", frozen=True)


class TargetCheckFailed(TargetError):
    """The preflight found a capability of the contract missing (exit 3)."""


@dataclass(frozen=True)
class CheckRow:
    """One capability of the contract: present or not, what was seen, what to do."""

    capability: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class TargetCheck:
    """Every row of one preflight."""

    target: str
    rows: tuple[CheckRow, ...]

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)

    @property
    def missing(self) -> tuple[CheckRow, ...]:
        return tuple(row for row in self.rows if not row.ok)


# -- the shapes of the read commands that have no model of their own -------------------------


class _TenantList(BaseModel):
    model_config = _TARGET
    tenants: list[TenantStatus]


class _RolloutStatus(BaseModel):
    model_config = _TARGET
    tenants: list[Rollout]


class _GlbRegion(BaseModel):
    model_config = _TARGET
    id: str
    healthy: bool


class _GlbStatus(BaseModel):
    model_config = _TARGET
    regions: list[_GlbRegion]
    tenants: dict[str, GlbView]


class _FlagsShow(RootModel[dict[str, Flags]]):
    pass


class _ReadinessShow(RootModel[dict[str, ReadinessRecord]]):
    pass


class _TenantBudget(BaseModel):
    model_config = _TARGET
    error_budget_remaining: float | None


class _SloStatus(RootModel[dict[str, _TenantBudget]]):
    pass


class _TripwiresStatus(BaseModel):
    model_config = _TARGET
    time_scale: float
    tenants: dict[str, dict[str, Any]]


class _FaultList(BaseModel):
    model_config = _TARGET
    faults: list[Fault]


def _tenant_args(tenant: str) -> tuple[str, ...]:
    return ("--tenant", tenant)


def _read_commands(profile: TargetProfile) -> Iterator[tuple[type[BaseModel], tuple[str, ...]]]:
    """(model, command) for every read the check sends."""
    first = profile.tenants[0].id
    for tenant in profile.tenants:
        yield TenantStatus, ("tenant", "status", *_tenant_args(tenant.id))
        yield _ReadinessShow, ("readiness", "show", *_tenant_args(tenant.id))
    yield _TenantList, ("tenant", "list")
    yield _RolloutStatus, ("rollout", "status")
    yield _GlbStatus, ("glb", "status")
    yield _FlagsShow, ("flags", "show")
    yield DrStatus, ("dr", "status", *_tenant_args(first))
    yield ProvenanceLog, ("provenance", "log", "--limit", "1")
    yield DpoPages, ("dpo", "pages")
    yield _SloStatus, ("slo", "status")
    yield _TripwiresStatus, ("tripwires", "status")
    yield TripwireEvents, ("tripwires", "events")
    yield _FaultList, ("faults", "list")
    for tenant in profile.tenants:
        if tenant.autonomy_pilot:
            yield AutonomyStatus, ("autonomy", "status", *_tenant_args(tenant.id))


def _words(command: tuple[str, ...]) -> str:
    return " ".join(command_words(command))


def _guarded(capability: str, fix: str, check: Callable[[], str]) -> CheckRow:
    """Run one check: its detail when it passes, the error's one line when it does not."""
    try:
        return CheckRow(capability, True, check())
    except (McError, OSError, ValueError, httpx.HTTPError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return CheckRow(capability, False, message[:300], fix)


# -- the checks ------------------------------------------------------------------------------


def _fence(profile: TargetProfile) -> CheckRow:
    refusal = change_refusal(profile, what="the plan's rehearsal")
    if refusal is None:
        return CheckRow("fence", True, f"staging, every host in {list(profile.allowed_hosts)}")
    return CheckRow(
        "fence",
        False,
        refusal,
        "rehearse only a staging: set environment: staging and list its hosts in allowed_hosts",
    )


def _admin(profile: TargetProfile, fenced: bool) -> CheckRow:
    if not fenced:
        return CheckRow(
            "admin secret", False, "not read: the profile is outside the fence", "fix the fence"
        )

    def read() -> str:
        secret = admin_secret(profile)
        if not secret:
            raise ValueError("the admin secret is empty")
        admin = profile.admin
        where = (
            f"admin.token_file {admin.token_file}"
            if admin is not None and admin.token_file is not None
            else f"admin.token_env {admin.token_env if admin else ''}"
        )
        return f"{where} readable ({len(secret)} characters, not shown)"

    return _guarded(
        "admin secret",
        "point admin.token_file at a readable file holding the secret (or set admin.token_env)",
        read,
    )


def _control_reads(profile: TargetProfile, control: ControlClient) -> Iterator[CheckRow]:
    for model, command in _read_commands(profile):

        def read(model: type[BaseModel] = model, command: tuple[str, ...] = command) -> str:
            parse_as(model, control.call(*command), what=_words(command))
            return f"answers --json as {model.__name__.lstrip('_')}"

        tenant = command[command.index("--tenant") + 1] if "--tenant" in command else None
        yield _guarded(
            f"control: {_words(command)}" + (f" {tenant}" if tenant else ""),
            f"make `{' '.join(profile.control.command)} {_words(command)} ... --json` print one "
            "JSON document of the contract's shape (docs/target-contract.md §2)",
            read,
        )


def _control_api(profile: TargetProfile) -> Iterator[CheckRow]:
    if profile.control.api_url is None:
        return
    pilot = next((t.id for t in profile.tenants if t.autonomy_pilot), profile.tenants[0].id)

    def read() -> str:
        with ControlApi(profile) as api:
            answer = api.attempt("autonomy", "status", args={"tenant": pilot})
        if answer.exit_code != 0:
            raise ValueError(f"autonomy.status answered {answer.exit_code}: {answer.message}")
        parse_as(AutonomyStatus, answer.result, what="autonomy.status over the control API")
        return f"{profile.control.api_url} answers autonomy.status"

    yield _guarded(
        "control API",
        "serve POST {control.api_url}/api/{command} (docs/target-contract.md §2, Control API), "
        "or remove control.api_url to use the CLI alone",
        read,
    )


def _series(url: str) -> set[str]:
    """The metric names an endpoint exports: its series and the families it declares."""
    response = httpx.get(url, timeout=10.0)
    response.raise_for_status()
    text = response.text
    return {sample.name for sample in parse_exposition(text)} | declared_metrics(text)


def _prometheus_series(base: str) -> set[str]:
    response = httpx.get(f"{base.rstrip('/')}/api/v1/label/__name__/values", timeout=10.0)
    response.raise_for_status()
    return set(response.json().get("data", []))


def _metrics(profile: TargetProfile) -> Iterator[CheckRow]:
    kinds: dict[ComponentKind, list[str]] = {kind: [] for kind in CONTRACT_METRICS}
    if profile.metrics.source == "prometheus" and profile.metrics.prometheus_url:
        try:
            series = _prometheus_series(profile.metrics.prometheus_url)
        except (httpx.HTTPError, ValueError) as exc:
            yield CheckRow(
                "metrics: prometheus",
                False,
                f"{profile.metrics.prometheus_url} unreadable ({type(exc).__name__})",
                "point metrics.prometheus_url at the Prometheus that scrapes the target",
            )
            return
        for kind in CONTRACT_METRICS:
            missing = missing_metrics(kind, series)
            yield _metric_row(f"metrics: {kind}", missing, len(CONTRACT_METRICS[kind]))
        return
    exported: dict[ComponentKind, set[str]] = {kind: set() for kind in CONTRACT_METRICS}
    for endpoint in profile.metrics.endpoints:
        endpoint_kind = component_kind(endpoint.component)
        if endpoint_kind is None:
            continue
        kinds[endpoint_kind].append(endpoint.component)
        try:
            exported[endpoint_kind] |= _series(endpoint.url)
        except httpx.HTTPError as exc:
            yield CheckRow(
                f"metrics: {endpoint.component}",
                False,
                f"{endpoint.url} does not answer ({type(exc).__name__})",
                "serve Prometheus text at the endpoint's url, or fix metrics.endpoints",
            )
    for kind, components in kinds.items():
        if not components:
            names = ", ".join(sorted(CONTRACT_METRICS[kind]))
            yield CheckRow(
                f"metrics: {kind}",
                False,
                f"no endpoint of a {kind} component in metrics.endpoints; nothing exports {names}",
                f"add the {kind} endpoint to metrics.endpoints (component "
                f"{'region-<id>' if kind == 'region' else kind})",
            )
            continue
        yield _metric_row(
            f"metrics: {kind} ({', '.join(components)})",
            missing_metrics(kind, exported[kind]),
            len(CONTRACT_METRICS[kind]),
        )


def _metric_row(capability: str, missing: list[str], total: int) -> CheckRow:
    if not missing:
        return CheckRow(capability, True, f"all {total} contract metrics exported")
    return CheckRow(
        capability,
        False,
        f"{len(missing)} of {total} contract metrics not exported: {', '.join(missing)}",
        "export them as docs/target-contract.md §4 names them (a counter at 0 from the start)",
    )


def _data_plane(profile: TargetProfile) -> Iterator[CheckRow]:
    with DataPlaneClient(profile) as client:
        for tenant in profile.tenants:
            places = [GLB, *(r for r in tenant.regions if _region_url(profile, r))]
            for via in places:

                def read(tenant_id: str = tenant.id, via: str = via) -> str:
                    answer = client.get(tenant_id, PREFLIGHT_KEY, via=via)
                    if answer.status not in (200, 404):
                        raise ValueError(f"a persisted read answered {answer.describe()}")
                    return f"a persisted read answers {answer.status}"

                yield _guarded(
                    f"data plane: {tenant.id} via {via}",
                    "serve POST /v1/tenants/{tenant}/query (docs/target-contract.md §3) there",
                    read,
                )


def _region_url(profile: TargetProfile, region_id: str) -> str | None:
    return next((r.url for r in profile.regions if r.id == region_id), None)


def _experiment_files(profile: TargetProfile) -> list[Path]:
    base = profile.chaos.experiments_dir or project_dir("chaos")
    return sorted(base.glob("*.json"))


def _experiments(profile: TargetProfile) -> Iterator[CheckRow]:
    files = _experiment_files(profile)
    if not files:
        yield CheckRow(
            "experiments",
            False,
            f"no experiment in {profile.chaos.experiments_dir or project_dir('chaos')}",
            "point chaos.experiments_dir at the experiments, or remove it to use the project's",
        )
        return
    tenant = profile.tenants[0].id
    for path in files:

        def resolve(path: Path = path) -> str:
            info = load_experiment_file(path)
            configuration = target_configuration(
                profile,
                info,
                tenant=tenant if "tenant" in info.configuration_keys else None,
                region=None,
                overrides={},
            )
            check_hosts(profile, configuration)
            return f"configuration resolves ({', '.join(sorted(configuration))})"

        yield _guarded(
            f"experiment: {path.stem}",
            "give the profile what the experiment needs (admin.url, the region's url)",
            resolve,
        )


def run_target_check(
    profile: TargetProfile,
    *,
    runner: ToolRunner | None = None,
    progress: Callable[[CheckRow], None] | None = None,
) -> TargetCheck:
    """Check every capability of the contract against `profile`; nothing is changed."""
    rows: list[CheckRow] = []

    def add(found: Iterable[CheckRow]) -> None:
        for row in found:
            rows.append(row)
            if progress is not None:
                progress(row)

    fence = _fence(profile)
    add([fence, _admin(profile, fence.ok)])
    control = ControlClient(profile, runner or ToolRunner())
    add(_control_reads(profile, control))
    if fence.ok:  # the API reads with the admin secret: only behind the fence
        add(_control_api(profile))
    add(_metrics(profile))
    add(_data_plane(profile))
    add(_experiments(profile))
    return TargetCheck(profile.name, tuple(rows))


def require_target_contract(
    profile: TargetProfile, report: Callable[[TargetCheck], None] | None = None
) -> TargetCheck:
    """Run the preflight, hand the result to `report` (a table printer), and raise
    `TargetCheckFailed` (exit 3) with one line naming the first miss when one is missing."""
    result = run_target_check(profile)
    if report is not None:
        report(result)
    if not result.ok:
        first = result.missing[0]
        raise TargetCheckFailed(
            f"target check of {profile.name!r}: {len(result.missing)} of {len(result.rows)} "
            f"capabilities missing, first {first.capability}: {first.detail}; run "
            "`mc-verify target check --target PROFILE` for the table"
        )
    return result
