"""Helpers for the metric integration tests: data-plane writes, faults, polling a verdict."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from pytest_mc.metrics.evaluator import WindowResult, WindowStatus
from pytest_mc.target.profile import TargetProfile

TENANT = "TENANT_001"


@contextmanager
def steady_writes(profile: TargetProfile, tenant: str = TENANT) -> Iterator[list[int]]:
    """Persisted writes through the GLB every ~20 ms until the block ends; yields status codes."""
    codes: list[int] = []
    stop = threading.Event()

    def write() -> None:
        with httpx.Client(timeout=5.0) as client:
            number = 0
            while not stop.is_set():
                variables = {"key": f"k{number % 16}", "value": "v"}
                response = client.post(
                    f"{profile.glb_url}/v1/tenants/{tenant}/query",
                    headers={"X-MC-Purpose": "service"},
                    json={"id": "put_entity", "variables": variables},
                )
                codes.append(response.status_code)
                number += 1
                stop.wait(0.02)

    thread = threading.Thread(target=write, name="metrics-test-writes", daemon=True)
    thread.start()
    try:
        yield codes
    finally:
        stop.set()
        thread.join(timeout=10)


class Faults:
    """The admin fault API: inject and remove, and remove whatever is left on exit."""

    def __init__(self, profile: TargetProfile, secret: str) -> None:
        assert profile.admin is not None
        self._client = httpx.Client(
            base_url=profile.admin.url,
            headers={"Authorization": f"Bearer {secret}"},
            timeout=10.0,
        )
        self._open: list[str] = []

    def replication_delay(self, tenant: str, delay_wall_seconds: float) -> str:
        response = self._client.post(
            "/admin/faults",
            json={
                "kind": "replication-delay",
                "tenant": tenant,
                "region": None,
                "params": {"delay_seconds": delay_wall_seconds},
            },
        )
        assert response.status_code == 201, response.text
        fault_id = str(response.json()["id"])
        self._open.append(fault_id)
        return fault_id

    def remove(self, fault_id: str) -> None:
        response = self._client.delete(f"/admin/faults/{fault_id}")
        assert response.status_code == 200, response.text
        self._open.remove(fault_id)

    def close(self) -> None:
        for fault_id in list(self._open):
            self.remove(fault_id)
        self._client.close()


def wait_for_status(
    evaluate: Callable[[], WindowResult], wanted: WindowStatus, deadline_seconds: float
) -> WindowResult:
    """Evaluate until the status is ``wanted`` or the deadline passes; return the last result."""
    deadline = time.monotonic() + deadline_seconds
    result = evaluate()
    while result.status is not wanted and time.monotonic() < deadline:
        time.sleep(0.1)
        result = evaluate()
    return result
