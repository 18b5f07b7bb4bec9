"""Privacy dashboard tiles (plan §C): a Grafana dashboard for an internal, admin-only folder.

Tiles per tenant: privacy (residency) violations, residency denials and purpose denials, each
as a total over the dashboard's range and as a rate over time, from the contract's metric
names (docs/target-contract.md §4). The dashboard is a pydantic model of the subset of
Grafana's dashboard JSON we emit (`schemas/grafana-dashboard.schema.json`); beside it go a
provisioning file that puts it in its folder and the folder's permission intent: nobody but
Grafana admins (an empty permission list removes the Viewer and Editor defaults).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from pytest_mc.integration.output import json_document, write_model, write_text

DASHBOARD_FILE = "privacy-dashboard.json"
PROVISIONING_FILE = "privacy-dashboard.provisioning.yaml"
FOLDER_FILE = "privacy-dashboard.folder.json"
DASHBOARD_UID = "mc-privacy-tiles"
FOLDER_UID = "mc-admin-privacy"
FOLDER_TITLE = "MC Admin — Privacy"
GRAFANA_SCHEMA_VERSION = 39

# Contract metric names (docs/target-contract.md §4), as a Prometheus server stores them:
# counters carry the `_total` suffix of the text exposition format.
RESIDENCY_VIOLATIONS = "mc_residency_violations_total"
RESIDENCY_DENIALS = "mc_residency_denials_total"
PURPOSE_DENIALS = "mc_purpose_denials_total"
TENANT_METRIC = RESIDENCY_DENIALS  # every tenant is exported at 0 from the start

_GRAFANA = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DatasourceRef(BaseModel):
    model_config = _GRAFANA
    type: Literal["prometheus"] = "prometheus"
    uid: str = "${datasource}"


class GridPos(BaseModel):
    model_config = _GRAFANA
    h: int = Field(ge=1)
    w: int = Field(ge=1, le=24)
    x: int = Field(ge=0, le=23)
    y: int = Field(ge=0)


class QueryTarget(BaseModel):
    model_config = _GRAFANA
    ref_id: str = Field(alias="refId")
    expr: str = Field(description="PromQL")
    legend_format: str = Field(alias="legendFormat")
    datasource: DatasourceRef = DatasourceRef()
    instant: bool
    range: bool


class ThresholdStep(BaseModel):
    model_config = _GRAFANA
    color: str
    value: float | None


class Thresholds(BaseModel):
    model_config = _GRAFANA
    mode: Literal["absolute"] = "absolute"
    steps: tuple[ThresholdStep, ...] = Field(min_length=1)


class ColorMode(BaseModel):
    model_config = _GRAFANA
    mode: Literal["thresholds", "palette-classic"]


class FieldDefaults(BaseModel):
    model_config = _GRAFANA
    unit: str
    decimals: int | None = None
    min: float | None = None
    color: ColorMode
    thresholds: Thresholds


class FieldConfig(BaseModel):
    model_config = _GRAFANA
    defaults: FieldDefaults
    overrides: tuple[()] = ()


class ReduceOptions(BaseModel):
    model_config = _GRAFANA
    calcs: tuple[str, ...]
    fields: str = ""
    values: bool = False


class StatOptions(BaseModel):
    model_config = _GRAFANA
    reduce_options: ReduceOptions = Field(alias="reduceOptions")
    color_mode: Literal["background", "value"] = Field(alias="colorMode")
    graph_mode: Literal["none", "area"] = Field(alias="graphMode")
    text_mode: Literal["value_and_name"] = Field(alias="textMode")
    orientation: Literal["auto"] = "auto"
    justify_mode: Literal["auto"] = Field(default="auto", alias="justifyMode")


class Legend(BaseModel):
    model_config = _GRAFANA
    show_legend: bool = Field(default=True, alias="showLegend")
    display_mode: Literal["table", "list"] = Field(alias="displayMode")
    placement: Literal["bottom", "right"] = "bottom"
    calcs: tuple[str, ...] = ()


class Tooltip(BaseModel):
    model_config = _GRAFANA
    mode: Literal["multi", "single"]
    sort: Literal["desc", "none"]


class TimeseriesOptions(BaseModel):
    model_config = _GRAFANA
    legend: Legend
    tooltip: Tooltip


class Panel(BaseModel):
    model_config = _GRAFANA
    id: int = Field(ge=1)
    type: Literal["stat", "timeseries"]
    title: str
    description: str
    grid_pos: GridPos = Field(alias="gridPos")
    datasource: DatasourceRef = DatasourceRef()
    targets: tuple[QueryTarget, ...] = Field(min_length=1)
    field_config: FieldConfig = Field(alias="fieldConfig")
    options: StatOptions | TimeseriesOptions


class VariableOption(BaseModel):
    model_config = _GRAFANA
    text: str
    value: str


class DatasourceVariable(BaseModel):
    model_config = _GRAFANA
    type: Literal["datasource"] = "datasource"
    name: Literal["datasource"] = "datasource"
    label: str = "Prometheus"
    query: Literal["prometheus"] = "prometheus"
    hide: Literal[0] = 0
    refresh: Literal[1] = 1
    regex: str = ""


class QueryVariable(BaseModel):
    model_config = _GRAFANA
    type: Literal["query"] = "query"
    name: str
    label: str
    datasource: DatasourceRef = DatasourceRef()
    definition: str
    query: str
    refresh: Literal[2] = Field(default=2, description="on time range change")
    include_all: bool = Field(alias="includeAll")
    multi: bool
    all_value: str = Field(alias="allValue")
    current: VariableOption
    sort: Literal[1] = 1
    hide: Literal[0] = 0
    regex: str = ""


class Templating(BaseModel):
    model_config = _GRAFANA
    list: tuple[DatasourceVariable | QueryVariable, ...]


class TimeRange(BaseModel):
    model_config = _GRAFANA
    from_: str = Field(alias="from")
    to: str


class GrafanaDashboard(BaseModel):
    """The subset of Grafana's dashboard JSON model that the privacy tiles use."""

    model_config = _GRAFANA
    id: None = None
    uid: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")
    title: str
    description: str
    tags: tuple[str, ...]
    timezone: Literal["utc", "browser"]
    editable: bool
    graph_tooltip: Literal[0, 1, 2] = Field(alias="graphTooltip")
    schema_version: int = Field(alias="schemaVersion", ge=36)
    version: int = Field(ge=1)
    refresh: str
    time: TimeRange
    templating: Templating
    panels: tuple[Panel, ...] = Field(min_length=1)


class PermissionItem(BaseModel):
    """One entry of Grafana's folder permission list (role Viewer/Editor, team or user)."""

    model_config = _GRAFANA
    role: Literal["Viewer", "Editor"] | None = None
    team_id: int | None = Field(default=None, alias="teamId")
    user_id: int | None = Field(default=None, alias="userId")
    permission: Literal[1, 2, 4]


class FolderPermissionIntent(BaseModel):
    """The folder the dashboard belongs in and who may see it, ready for Grafana's API."""

    model_config = _GRAFANA
    folder_uid: str
    folder_title: str
    dashboard_uid: str
    audience: Literal["internal admins only"] = "internal admins only"
    plan_section: Literal["C"] = "C"
    api_method: Literal["POST"] = "POST"
    api_path: str
    items: tuple[PermissionItem, ...] = Field(
        description="the whole permission list to set: empty removes the Viewer and Editor "
        "defaults, leaving Grafana admins, who always keep access"
    )
    note: str


# --------------------------------------------------------------------------- the tiles

_TILES: tuple[tuple[str, str, str, bool], ...] = (
    # metric, title, what it means, any value above zero is a breach
    (
        RESIDENCY_VIOLATIONS,
        "Privacy violations (residency)",
        "Tenant data stored or served outside its jurisdiction (plan §A.2: privacy "
        "violations = 0; §A.3: any one rolls the tenant back and pages the DPO).",
        True,
    ),
    (
        RESIDENCY_DENIALS,
        "Residency denials",
        "Requests the residency gate refused (451): the gate working, deny-by-default. A "
        "rise means a client or route sends a tenant's data to the wrong region.",
        False,
    ),
    (
        PURPOSE_DENIALS,
        "Purpose denials",
        "Requests the purpose gate refused for want of an allowed purpose (deny-by-default).",
        False,
    ),
)


def _selector(metric: str) -> str:
    return f'{metric}{{tenant=~"$tenant"}}'


def _stat(panel_id: int, x: int, metric: str, title: str, text: str, breach: bool) -> Panel:
    steps = (
        (ThresholdStep(color="green", value=None), ThresholdStep(color="red", value=1))
        if breach
        else (ThresholdStep(color="green", value=None), ThresholdStep(color="orange", value=1))
    )
    return Panel(
        id=panel_id,
        type="stat",
        title=f"{title} per tenant — total in range",
        description=text,
        gridPos=GridPos(h=6, w=8, x=x, y=0),
        targets=(
            QueryTarget(
                refId="A",
                expr=f"sum by (tenant) (increase({_selector(metric)}[$__range]))",
                legendFormat="{{tenant}}",
                instant=True,
                range=False,
            ),
        ),
        fieldConfig=FieldConfig(
            defaults=FieldDefaults(
                unit="short",
                decimals=0,
                min=0,
                color=ColorMode(mode="thresholds"),
                thresholds=Thresholds(steps=steps),
            )
        ),
        options=StatOptions(
            reduceOptions=ReduceOptions(calcs=("lastNotNull",)),
            colorMode="background",
            graphMode="none",
            textMode="value_and_name",
        ),
    )


def _timeseries(panel_id: int, x: int, metric: str, title: str, text: str) -> Panel:
    return Panel(
        id=panel_id,
        type="timeseries",
        title=f"{title} per tenant — rate",
        description=text,
        gridPos=GridPos(h=9, w=8, x=x, y=6),
        targets=(
            QueryTarget(
                refId="A",
                expr=f"sum by (tenant) (rate({_selector(metric)}[$__rate_interval]))",
                legendFormat="{{tenant}}",
                instant=False,
                range=True,
            ),
        ),
        fieldConfig=FieldConfig(
            defaults=FieldDefaults(
                unit="reqps",
                min=0,
                color=ColorMode(mode="palette-classic"),
                thresholds=Thresholds(steps=(ThresholdStep(color="green", value=None),)),
            )
        ),
        options=TimeseriesOptions(
            legend=Legend(displayMode="table", calcs=("max", "mean")),
            tooltip=Tooltip(mode="multi", sort="desc"),
        ),
    )


def privacy_dashboard() -> GrafanaDashboard:
    """The dashboard: three totals on top, three rates below, filtered by tenant."""
    panels = []
    for index, (metric, title, text, breach) in enumerate(_TILES):
        panels.append(_stat(index + 1, index * 8, metric, title, text, breach))
    for index, (metric, title, text, _) in enumerate(_TILES):
        panels.append(_timeseries(len(_TILES) + index + 1, index * 8, metric, title, text))
    tenants = f"label_values({TENANT_METRIC}, tenant)"
    return GrafanaDashboard(
        uid=DASHBOARD_UID,
        title="MC privacy tiles — violations, residency and purpose denials",
        description="Plan §C privacy dashboard tiles, per tenant. Internal, admin-only "
        f"folder {FOLDER_TITLE!r} ({FOLDER_UID}); see {FOLDER_FILE}.",
        tags=("mc", "privacy", "plan-c", "admin-only"),
        timezone="utc",
        editable=False,
        graphTooltip=1,
        schemaVersion=GRAFANA_SCHEMA_VERSION,
        version=1,
        refresh="1m",
        time=TimeRange.model_validate({"from": "now-24h", "to": "now"}),
        templating=Templating(
            list=(
                DatasourceVariable(),
                QueryVariable(
                    name="tenant",
                    label="Tenant",
                    definition=tenants,
                    query=tenants,
                    includeAll=True,
                    multi=True,
                    allValue=".*",
                    current=VariableOption(text="All", value="$__all"),
                ),
            )
        ),
        panels=tuple(panels),
    )


def folder_intent() -> FolderPermissionIntent:
    return FolderPermissionIntent(
        folder_uid=FOLDER_UID,
        folder_title=FOLDER_TITLE,
        dashboard_uid=DASHBOARD_UID,
        api_path=f"/api/folders/{FOLDER_UID}/permissions",
        items=(),
        note="Create the folder (provisioning does, from "
        f'{PROVISIONING_FILE}), then send {{"items": []}} to the API path: the folder is '
        "then visible to Grafana admins only. Provisioning cannot set permissions.",
    )


def _provisioning(dashboards_path: str) -> dict[str, object]:
    """Grafana's dashboard provider file: the dashboard JSON under `dashboards_path`, placed
    in the admin folder, not deletable or editable from the UI."""
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "mc-privacy-admin",
                "orgId": 1,
                "folder": FOLDER_TITLE,
                "folderUid": FOLDER_UID,
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": dashboards_path, "foldersFromFilesStructure": False},
            }
        ],
    }


_SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\{")
_LABEL_VALUES = re.compile(r"label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,")


def queried_metrics(dashboard: GrafanaDashboard) -> tuple[str, ...]:
    """Every metric name the dashboard's queries and variables read (each selector here
    carries a label matcher, so a name is what stands before `{`)."""
    expressions = [target.expr for panel in dashboard.panels for target in panel.targets]
    names = [name for expr in expressions for name in _SELECTOR.findall(expr)]
    for variable in dashboard.templating.list:
        if isinstance(variable, QueryVariable):
            names += _LABEL_VALUES.findall(variable.query)
    return tuple(sorted(set(names)))


def write_tiles(
    out_dir: Path, *, dashboards_path: str = "/var/lib/grafana/dashboards/mc-privacy"
) -> tuple[Path, Path, Path]:
    """Write the dashboard (schema-checked), its provisioning file and its folder intent."""
    dashboard = write_model(
        privacy_dashboard(), out_dir / DASHBOARD_FILE, schema="grafana-dashboard"
    )
    provider = write_text(
        out_dir / PROVISIONING_FILE,
        "# Grafana dashboard provisioning for the MC privacy tiles (admin-only folder).\n"
        + yaml.safe_dump(_provisioning(dashboards_path), sort_keys=False, allow_unicode=True),
    )
    folder = write_text(
        out_dir / FOLDER_FILE,
        json.dumps(json_document(folder_intent()), indent=2, ensure_ascii=False) + "\n",
    )
    return dashboard, provider, folder
