"""The privacy dashboard tiles: schema-valid Grafana JSON whose every PromQL expression names a
metric the reference staging really exports, in an admin-only folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from mc_staging.metrics import ControlMetrics, GlbMetrics, RegionMetrics, exposition
from pytest_mc.integration.privacy_tiles import (
    DASHBOARD_FILE,
    FOLDER_FILE,
    FOLDER_UID,
    PROVISIONING_FILE,
    GrafanaDashboard,
    queried_metrics,
    write_tiles,
)
from pytest_mc.schemas import schema_path

PROMQL_FUNCTIONS = {"sum", "max", "min", "rate", "increase", "label_values"}
IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def staging_exports() -> set[str]:
    """Every series name the reference staging's components expose, from their registries:
    counters as NAME_total, histograms as NAME_bucket/_count/_sum, gauges as NAME."""
    names: set[str] = set()
    for component in (RegionMetrics(), GlbMetrics(), ControlMetrics()):
        for family in component.registry.collect():
            if family.type == "counter":
                names.add(f"{family.name}_total")
            elif family.type == "histogram":
                names |= {f"{family.name}_{suffix}" for suffix in ("bucket", "count", "sum")}
            else:
                names.add(family.name)
    return names


def metrics_in(expr: str) -> list[str]:
    """The metric names a PromQL expression reads: what is left once label matchers, range
    selectors, grouping clauses and function names are removed. An unknown function fails."""
    variable = re.fullmatch(r"label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,\s*\w+\s*\)", expr)
    if variable is not None:
        return [variable.group(1)]
    text = re.sub(r"\{[^}]*\}", " ", expr)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without)\s*\([^)]*\)", " ", text)
    names = []
    for match in IDENTIFIER.finditer(text):
        following = text[match.end() :].lstrip()
        if following.startswith("("):
            assert match.group() in PROMQL_FUNCTIONS, f"unknown function in {expr!r}"
        else:
            names.append(match.group())
    return names


@pytest.fixture
def written(tmp_path: Path) -> tuple[dict[str, object], Path]:
    dashboard, provider, folder = write_tiles(tmp_path, dashboards_path="/srv/dashboards")
    assert (dashboard.name, provider.name, folder.name) == (
        DASHBOARD_FILE,
        PROVISIONING_FILE,
        FOLDER_FILE,
    )
    return json.loads(dashboard.read_text()), tmp_path


def expressions(document: dict[str, object]) -> list[str]:
    panels = document["panels"]
    assert isinstance(panels, list)
    exprs = [target["expr"] for panel in panels for target in panel["targets"]]
    templating = document["templating"]
    assert isinstance(templating, dict)
    exprs += [v["query"] for v in templating["list"] if v["type"] == "query"]
    return exprs


def test_dashboard_matches_its_schema_and_model(
    written: tuple[dict[str, object], Path],
) -> None:
    document, _ = written
    schema = json.loads(schema_path("grafana-dashboard").read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    assert GrafanaDashboard.model_validate(document).uid == document["uid"]
    broken = {**document, "panels": [{**document["panels"][0], "gridPos": {"h": 0}}]}  # type: ignore[index]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(broken)


def test_tiles_cover_violations_residency_and_purpose_denials_per_tenant(
    written: tuple[dict[str, object], Path],
) -> None:
    document, _ = written
    panels = document["panels"]
    assert isinstance(panels, list)
    titles = [p["title"] for p in panels]
    for subject in ("Privacy violations", "Residency denials", "Purpose denials"):
        assert sum(title.startswith(subject) for title in titles) == 2, titles
    for panel in panels:
        for target in panel["targets"]:
            assert target["expr"].startswith("sum by (tenant) ("), target["expr"]
            assert 'tenant=~"$tenant"' in target["expr"]
            assert target["legendFormat"] == "{{tenant}}"
    assert len({p["id"] for p in panels}) == len(panels)
    cells = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        covered = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & covered, f"panel {panel['title']!r} overlaps another"
        cells |= covered
    violations = next(p for p in panels if p["type"] == "stat" and "violations" in p["title"])
    steps = violations["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[-1] == {"color": "red", "value": 1.0}


def test_every_promql_expression_names_a_metric_the_staging_exports(
    written: tuple[dict[str, object], Path],
) -> None:
    document, _ = written
    exported = staging_exports()
    used = {name for expr in expressions(document) for name in metrics_in(expr)}
    assert used == {
        "mc_residency_violations_total",
        "mc_residency_denials_total",
        "mc_purpose_denials_total",
    }
    missing = sorted(used - exported)
    assert not missing, f"metrics the reference staging does not export: {missing}"


def test_the_metric_check_would_catch_a_wrong_name() -> None:
    exported = staging_exports()
    assert metrics_in('sum by (tenant) (increase(mc_privacy_violations_total{a="b"}[1h]))') == [
        "mc_privacy_violations_total"
    ]
    assert "mc_privacy_violations_total" not in exported
    assert "mc_residency_denials" not in exported  # the counter is exported with _total
    with pytest.raises(AssertionError, match="unknown function"):
        metrics_in("frobnicate(mc_requests_total)")


def test_exported_names_are_what_the_exposition_really_shows() -> None:
    region = RegionMetrics()
    region.residency_denials.labels("TENANT_004", "us-east").inc()
    region.purpose_denials.labels("TENANT_004", "eu-west").inc()
    region.residency_violations.labels("TENANT_004", "us-east").inc(0)
    text = exposition(region.registry).decode()
    for name in (
        "mc_residency_violations_total",
        "mc_residency_denials_total",
        "mc_purpose_denials_total",
    ):
        assert re.search(rf"^{name}\{{", text, re.M), name


def test_folder_is_admin_only_and_provisioned(written: tuple[dict[str, object], Path]) -> None:
    document, directory = written
    assert "admin-only" in document["tags"]  # type: ignore[operator]
    provider = yaml.safe_load((directory / PROVISIONING_FILE).read_text())
    assert provider["apiVersion"] == 1
    (entry,) = provider["providers"]
    assert (entry["folderUid"], entry["type"]) == (FOLDER_UID, "file")
    assert entry["options"]["path"] == "/srv/dashboards"
    assert entry["allowUiUpdates"] is False
    intent = json.loads((directory / FOLDER_FILE).read_text())
    assert intent["folder_uid"] == FOLDER_UID
    assert intent["dashboard_uid"] == document["uid"]
    assert intent["audience"] == "internal admins only"
    assert (intent["api_method"], intent["api_path"]) == (
        "POST",
        f"/api/folders/{FOLDER_UID}/permissions",
    )
    assert intent["items"] == []  # no Viewer or Editor entry: Grafana admins only


def test_the_packaged_metric_list_agrees_with_the_independent_parser(
    written: tuple[dict[str, object], Path],
) -> None:
    document, _ = written
    independent = {name for expr in expressions(document) for name in metrics_in(expr)}
    dashboard = GrafanaDashboard.model_validate(document)
    assert set(queried_metrics(dashboard)) == independent
