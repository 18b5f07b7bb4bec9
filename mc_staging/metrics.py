"""Prometheus metric families of every component (one registry per process).

Every name, type and label here is listed in docs/target-contract.md. Durations are in WALL
seconds; multiply by the profile's time_scale for plan seconds.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class RegionMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "mc_requests",
            "Data-plane requests served by a region",
            ["tenant", "region", "route", "code", "persisted"],
            registry=r,
        )
        self.latency = Histogram(
            "mc_request_duration_seconds",
            "Region request latency (wall s)",
            ["tenant", "region", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.writes = Counter(
            "mc_writes", "Local writes committed", ["tenant", "region"], registry=r
        )
        self.non_persisted = Counter(
            "mc_non_persisted_requests",
            "Ad-hoc (non-persisted) queries received",
            ["tenant", "region"],
            registry=r,
        )
        self.residency_denials = Counter(
            "mc_residency_denials",
            "Requests refused by the residency gate",
            ["tenant", "region"],
            registry=r,
        )
        self.residency_violations = Counter(
            "mc_residency_violations",
            "Tenant data stored outside its jurisdiction",
            ["tenant", "region"],
            registry=r,
        )
        self.purpose_denials = Counter(
            "mc_purpose_denials",
            "Requests refused by purpose gate",
            ["tenant", "region"],
            registry=r,
        )
        self.budget_rejections = Counter(
            "mc_query_budget_rejections",
            "Requests refused past the query budget (429)",
            ["tenant", "region"],
            registry=r,
        )
        self.cost_units = Counter(
            "mc_cost_units", "Cost units consumed", ["tenant", "region"], registry=r
        )
        self.budget_limit = Gauge(
            "mc_query_budget_units_per_second",
            "Query budget of the tenant in this region",
            ["tenant", "region"],
            registry=r,
        )
        self.cache = Counter(
            "mc_cache_requests", "Hot-key cache lookups", ["tenant", "region", "result"], registry=r
        )
        self.cache_ttl = Gauge(
            "mc_cache_ttl_seconds",
            "Mean TTL of cached keys (wall s)",
            ["tenant", "region"],
            registry=r,
        )
        self.lag = Gauge(
            "mc_replication_lag_seconds",
            "Replication lag into this region (wall s)",
            ["tenant", "source_region", "target_region"],
            registry=r,
        )
        self.apply_lag = Histogram(
            "mc_replication_apply_lag_seconds",
            "Commit-to-apply delay per replicated change (wall s)",
            ["tenant", "source_region", "target_region"],
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.applied = Counter(
            "mc_replication_applied",
            "Replicated changes applied",
            ["tenant", "source_region", "target_region"],
            registry=r,
        )
        self.conflicts = Counter(
            "mc_replication_conflicts",
            "Concurrent writes of one key detected on apply",
            ["tenant", "region"],
            registry=r,
        )
        self.faults = Gauge(
            "mc_fault_active",
            "Active injected faults seen by this component",
            ["component", "kind"],
            registry=r,
        )
        self.up = Gauge(
            "mc_component_up", "1 while the component serves", ["component"], registry=r
        )

    def tenant_counters(self) -> tuple[Counter, ...]:
        """The counters labelled (tenant, region), exported at 0 before the first event."""
        return (
            self.writes,
            self.non_persisted,
            self.residency_denials,
            self.residency_violations,
            self.purpose_denials,
            self.budget_rejections,
            self.cost_units,
            self.conflicts,
        )


class GlbMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "mc_glb_requests",
            "Requests routed by the GLB",
            ["tenant", "region", "code"],
            registry=r,
        )
        self.latency = Histogram(
            "mc_glb_request_duration_seconds",
            "GLB end-to-end latency",
            ["tenant"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.weight = Gauge(
            "mc_glb_region_weight",
            "Effective routing weight (percent)",
            ["tenant", "region"],
            registry=r,
        )
        self.healthy = Gauge(
            "mc_glb_region_healthy",
            "1 when the region passes health checks",
            ["region"],
            registry=r,
        )
        self.failovers = Counter(
            "mc_glb_failovers",
            "Requests re-routed away from a region",
            ["tenant", "from_region", "to_region"],
            registry=r,
        )
        self.journaled = Counter(
            "mc_glb_journaled_writes",
            "Writes journaled for idempotent replay",
            ["tenant"],
            registry=r,
        )
        self.up = Gauge(
            "mc_component_up", "1 while the component serves", ["component"], registry=r
        )


class ControlMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.stage = Gauge(
            "mc_rollout_stage",
            "Rollout stage index (-1 rolled-back .. 4 ga)",
            ["tenant"],
            registry=r,
        )
        self.stage_info = Gauge(
            "mc_rollout_stage_info",
            "1 for the tenant's current stage",
            ["tenant", "stage"],
            registry=r,
        )
        self.paused = Gauge(
            "mc_rollout_paused", "1 when the tenant's rollout is paused", ["tenant"], registry=r
        )
        self.active_active = Gauge(
            "mc_tenant_active_active", "1 when the tenant runs A/A", ["tenant"], registry=r
        )
        self.canary_weight = Gauge(
            "mc_rollout_canary_weight_percent",
            "Share of traffic on the tenant's second region",
            ["tenant"],
            registry=r,
        )
        self.budget_remaining = Gauge(
            "mc_error_budget_remaining_ratio",
            "Error budget remaining this period (1 = untouched)",
            ["tenant"],
            registry=r,
        )
        self.budget_burn = Gauge(
            "mc_error_budget_consumed_in_window_ratio",
            "Fraction of the period's error budget burnt in the window",
            ["tenant", "window"],
            registry=r,
        )
        self.cost_consumed = Gauge(
            "mc_cost_budget_consumed_ratio",
            "Cost units consumed / cost budget of the plan day",
            ["tenant"],
            registry=r,
        )
        self.lag = Gauge(
            "mc_tenant_replication_lag_seconds",
            "Worst replication lag of the tenant (wall s)",
            ["tenant"],
            registry=r,
        )
        self.conflict_ratio = Gauge(
            "mc_conflict_ratio", "Conflicts / writes over the 10m window", ["tenant"], registry=r
        )
        self.non_persisted_ratio = Gauge(
            "mc_non_persisted_ratio",
            "Ad-hoc / all requests over the 10m window",
            ["tenant"],
            registry=r,
        )
        self.violations = Gauge(
            "mc_tenant_residency_violations",
            "Residency violations seen (cumulative)",
            ["tenant"],
            registry=r,
        )
        self.tripwire_condition = Gauge(
            "mc_tripwire_condition",
            "1 while a tripwire condition holds",
            ["tenant", "tripwire"],
            registry=r,
        )
        self.tripwire_actions = Counter(
            "mc_tripwire_actions",
            "Tripwire auto-actions performed",
            ["tenant", "tripwire", "action"],
            registry=r,
        )
        self.dpo_pages = Counter("mc_dpo_pages", "Pages sent to the DPO", ["tenant"], registry=r)
        self.autonomy_tier = Gauge(
            "mc_autonomy_tier", "Autonomy tier (0..3)", ["tenant"], registry=r
        )
        self.autonomy_halted = Gauge(
            "mc_autonomy_halted", "1 when autonomy is halted", ["tenant"], registry=r
        )
        self.simulations = Counter(
            "mc_autonomy_simulations", "Simulations run", ["tenant"], registry=r
        )
        self.enactments = Counter(
            "mc_autonomy_enactments", "Enactments by outcome", ["tenant", "outcome"], registry=r
        )
        self.compensations = Counter(
            "mc_autonomy_compensations", "Compensations performed", ["tenant"], registry=r
        )
        self.aborts = Counter(
            "mc_autonomy_aborts", "Enactments aborted", ["tenant", "reason"], registry=r
        )
        self.sim_mismatches = Counter(
            "mc_autonomy_simulation_mismatches",
            "Enactments whose outcome differed from the simulation",
            ["tenant"],
            registry=r,
        )
        self.token_refusals = Counter(
            "mc_autonomy_token_refusals",
            "Approval tokens refused",
            ["tenant", "reason"],
            registry=r,
        )
        self.faults = Gauge(
            "mc_fault_active", "Active injected faults", ["component", "kind"], registry=r
        )
        self.region_up = Gauge(
            "mc_region_up", "1 when the region answers the control plane", ["region"], registry=r
        )
        self.up = Gauge(
            "mc_component_up", "1 while the component serves", ["component"], registry=r
        )


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
