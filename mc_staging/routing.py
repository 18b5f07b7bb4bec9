"""Per-tenant routing weights: what the control plane tells the GLB, derived from the tenant's
mode, rollout stage, DR failover, GLB bias and any residency routing regression."""

from __future__ import annotations

from mc_staging.model import STAGE_SECONDARY_WEIGHT, Fault
from mc_staging.seed import TenantRecord


def tenant_weights(tenant: TenantRecord, faults: list[Fault]) -> dict[str, int]:
    if tenant.glb_bias:
        weights = dict(tenant.glb_bias)
    elif tenant.failed_over_to:
        weights = {tenant.failed_over_to: 100}
    elif tenant.mode == "active-passive":
        weights = {tenant.primary: 100}
    else:
        secondary_share = STAGE_SECONDARY_WEIGHT[tenant.stage]
        secondary = next(r for r in tenant.regions if r != tenant.primary)
        weights = {tenant.primary: 100 - secondary_share, secondary: secondary_share}
    if tenant.stage != "rolled-back":
        # a routing regression leaks a share of the tenant's traffic to another region;
        # rolling the tenant back restores its known-good routing (plan §A.3)
        for fault in faults:
            if fault.kind == "residency-regression" and fault.tenant == tenant.id and fault.region:
                leak = int(float(fault.params.get("leak_percent", 20)))
                weights[fault.region] = weights.get(fault.region, 0) + leak
    return {region: weight for region, weight in weights.items() if weight > 0}
