"""Routing weights per stage/bias/failover/leak, and the hot-key cache's TTL auto-tune."""

from __future__ import annotations

from mc_staging.cache import HotKeyCache
from mc_staging.model import Fault
from mc_staging.routing import tenant_weights
from mc_staging.seed import seed_tenants


def test_weights_follow_stage_bias_failover_and_leak() -> None:
    ga, _, _, staged, _ = seed_tenants(0.0)
    assert sorted(tenant_weights(ga, []).values()) == [50, 50]
    assert tenant_weights(staged, []) == {staged.primary: 100}
    staged.stage = "canary-20"
    staged.mode = "active-active"
    assert tenant_weights(staged, [])[staged.primary] == 80
    ga.glb_bias = {"eu-west": 100, "eu-central": 0}
    assert tenant_weights(ga, []) == {"eu-west": 100}
    ga.glb_bias = None
    ga.failed_over_to = "eu-central"
    assert tenant_weights(ga, []) == {"eu-central": 100}
    leak = Fault(
        id="f", kind="residency-regression", tenant=ga.id, region="us-east", injected_at=0.0
    )
    assert tenant_weights(ga, [leak])["us-east"] == 20
    ga.stage = "rolled-back"
    assert "us-east" not in tenant_weights(ga, [leak])


def test_cache_ttl_autotune() -> None:
    cache = HotKeyCache(base_ttl=1.0, max_ttl=5.0)
    for _ in range(64):
        cache.get("T", "hot")
    cache.put("T", "hot", "v", 1, autotune=True)
    cache.put("T", "cold", "v", 1, autotune=True)
    assert cache._entries[("T", "hot")].ttl > cache._entries[("T", "cold")].ttl
    cache.put("T", "hot", "v", 1, autotune=False)
    assert cache._entries[("T", "hot")].ttl == 1.0
    cache.invalidate("T", "hot")
    assert cache.get("T", "hot") is None


def test_fault_params_from_chaos_strings_are_read_as_their_types() -> None:
    from mc_staging.faults import fault_params

    assert fault_params("residency-regression", {"leak_only": "false", "leak_percent": "20"}) == {
        "leak_only": False,
        "leak_percent": 20.0,
    }
    assert fault_params("residency-regression", {"leak_only": "True"}) == {"leak_only": True}
    assert fault_params("error-rate", {"rate": 0.5}) == {"rate": 0.5}
