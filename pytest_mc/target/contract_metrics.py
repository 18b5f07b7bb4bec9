"""The metrics of the target contract (docs/target-contract.md §4), by the component kind
that exports them: what `mc-verify target check` requires a target to export. A test keeps
this table and the document's equal.

A histogram is exported as its `_bucket`, `_sum` and `_count` series; every other type as
its own name.
"""

from __future__ import annotations

from typing import Literal

MetricType = Literal["counter", "gauge", "histogram"]
ComponentKind = Literal["region", "glb", "control"]

REGION_METRICS: dict[str, MetricType] = {
    "mc_requests_total": "counter",
    "mc_request_duration_seconds": "histogram",
    "mc_writes_total": "counter",
    "mc_non_persisted_requests_total": "counter",
    "mc_residency_denials_total": "counter",
    "mc_residency_violations_total": "counter",
    "mc_purpose_denials_total": "counter",
    "mc_query_budget_rejections_total": "counter",
    "mc_query_budget_units_per_second": "gauge",
    "mc_cost_units_total": "counter",
    "mc_cache_requests_total": "counter",
    "mc_cache_ttl_seconds": "gauge",
    "mc_replication_lag_seconds": "gauge",
    "mc_replication_apply_lag_seconds": "histogram",
    "mc_replication_applied_total": "counter",
    "mc_replication_conflicts_total": "counter",
    "mc_fault_active": "gauge",
    "mc_component_up": "gauge",
}

GLB_METRICS: dict[str, MetricType] = {
    "mc_glb_requests_total": "counter",
    "mc_glb_request_duration_seconds": "histogram",
    "mc_glb_region_weight": "gauge",
    "mc_glb_region_healthy": "gauge",
    "mc_glb_failovers_total": "counter",
    "mc_glb_journaled_writes_total": "counter",
    "mc_component_up": "gauge",
}

CONTROL_METRICS: dict[str, MetricType] = {
    "mc_rollout_stage": "gauge",
    "mc_rollout_stage_info": "gauge",
    "mc_rollout_paused": "gauge",
    "mc_rollout_canary_weight_percent": "gauge",
    "mc_tenant_active_active": "gauge",
    "mc_error_budget_remaining_ratio": "gauge",
    "mc_error_budget_consumed_in_window_ratio": "gauge",
    "mc_cost_budget_consumed_ratio": "gauge",
    "mc_tenant_replication_lag_seconds": "gauge",
    "mc_conflict_ratio": "gauge",
    "mc_non_persisted_ratio": "gauge",
    "mc_tenant_residency_violations": "gauge",
    "mc_tripwire_condition": "gauge",
    "mc_tripwire_actions_total": "counter",
    "mc_dpo_pages_total": "counter",
    "mc_autonomy_tier": "gauge",
    "mc_autonomy_halted": "gauge",
    "mc_autonomy_simulations_total": "counter",
    "mc_autonomy_enactments_total": "counter",
    "mc_autonomy_compensations_total": "counter",
    "mc_autonomy_aborts_total": "counter",
    "mc_autonomy_simulation_mismatches_total": "counter",
    "mc_autonomy_token_refusals_total": "counter",
    "mc_region_up": "gauge",
    "mc_component_up": "gauge",
}

CONTRACT_METRICS: dict[ComponentKind, dict[str, MetricType]] = {
    "region": REGION_METRICS,
    "glb": GLB_METRICS,
    "control": CONTROL_METRICS,
}


def component_kind(component: str) -> ComponentKind | None:
    """The kind of a metric endpoint's component (`region-eu` is a region; None: not one of
    the contract's components)."""
    if component.startswith("region-"):
        return "region"
    if component == "glb":
        return "glb"
    if component == "control":
        return "control"
    return None


def exported_as(name: str, kind: MetricType) -> tuple[str, ...]:
    """The series names a metric of this type is exported as."""
    if kind == "histogram":
        return (f"{name}_bucket", f"{name}_sum", f"{name}_count")
    return (name,)


def missing_metrics(kind: ComponentKind, series: set[str]) -> list[str]:
    """The contract metrics of `kind` neither declared (their family name, as `# TYPE`
    declares it) nor exported (one of their series) among `series`."""
    return [
        name
        for name, metric_type in CONTRACT_METRICS[kind].items()
        if not any(s in series for s in (name, *exported_as(name, metric_type)))
    ]
