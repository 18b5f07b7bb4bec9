"""Faults with `expires_after_seconds` stop applying after their hold, whatever the caller does."""

from __future__ import annotations

import time

from mc_staging.model import Fault, RuntimeConfig, faults_for


def _config(*faults: Fault) -> RuntimeConfig:
    return RuntimeConfig.model_construct(faults=list(faults))


def test_a_fault_without_expiry_applies_until_removed() -> None:
    fault = Fault(id="f1", kind="latency", params={"latency_ms": 5.0}, injected_at=0.0)
    assert faults_for(_config(fault), "latency") == [fault]


def test_an_expiring_fault_applies_for_its_hold_only() -> None:
    now = time.time()
    fresh = Fault(
        id="f1",
        kind="replication-delay",
        params={"delay_seconds": 1.0, "expires_after_seconds": 60.0},
        injected_at=now,
    )
    spent = Fault(
        id="f2",
        kind="replication-delay",
        params={"delay_seconds": 1.0, "expires_after_seconds": 0.4},
        injected_at=now - 0.5,
    )
    assert faults_for(_config(fresh, spent), "replication-delay") == [fresh]
