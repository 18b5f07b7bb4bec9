"""The contract metrics the target check requires are the ones docs/target-contract.md §4
lists, component by component, with their types."""

from __future__ import annotations

import re

from pytest_mc.metrics.scrape import declared_metrics
from pytest_mc.paths import project_dir
from pytest_mc.target.contract_metrics import (
    CONTRACT_METRICS,
    component_kind,
    missing_metrics,
)

SECTIONS = {"### Regions": "region", "### GLB": "glb", "### Control plane": "control"}


def _documented() -> dict[str, dict[str, str]]:
    text = (project_dir("docs") / "target-contract.md").read_text(encoding="utf-8")
    metrics_section = text[text.index("## 4. Metrics") : text.index("## 5.")]
    tables: dict[str, dict[str, str]] = {}
    kind = None
    for line in metrics_section.splitlines():
        heading = next((k for h, k in SECTIONS.items() if line.startswith(h)), None)
        if heading is not None:
            kind = heading
            tables[kind] = {}
        row = re.match(r"\| `(mc_[a-z_]+)` \| (counter|gauge|histogram) \|", line)
        if row and kind is not None:
            tables[kind][row.group(1)] = row.group(2)
    return tables


def test_the_table_is_the_documents() -> None:
    assert _documented() == CONTRACT_METRICS


def test_a_declared_family_counts_as_exported_and_an_absent_one_is_named() -> None:
    text = (
        "# HELP mc_requests_total requests\n"
        "# TYPE mc_requests_total counter\n"
        "# TYPE mc_request_duration_seconds histogram\n"
        "# TYPE mc_writes counter\n"  # OpenMetrics style: the counter without _total
        'mc_component_up{component="region-eu"} 1\n'
    )
    series = declared_metrics(text) | {"mc_component_up"}
    assert {"mc_requests_total", "mc_writes_total"} <= series
    missing = missing_metrics("region", series)
    assert "mc_requests_total" not in missing
    assert "mc_request_duration_seconds" not in missing
    assert "mc_writes_total" not in missing
    assert "mc_component_up" not in missing
    assert "mc_replication_lag_seconds" in missing
    # a histogram's samples alone show it too
    assert "mc_request_duration_seconds" not in missing_metrics(
        "region", {"mc_request_duration_seconds_bucket"}
    )


def test_components_map_to_their_kind() -> None:
    assert component_kind("region-eu-west") == "region"
    assert component_kind("glb") == "glb"
    assert component_kind("control") == "control"
    assert component_kind("sidecar") is None
