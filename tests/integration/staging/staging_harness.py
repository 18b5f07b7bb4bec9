"""Harness for the reference-staging integration tests: a real `mc-staging up` under
tmp_path, torn down with `mc-staging down`, and every recorded pid checked gone."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

MC_STAGING = shutil.which("mc-staging") or str(Path(sys.executable).parent / "mc-staging")


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)


def pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


@dataclass
class Staging:
    state_dir: Path
    profile: dict[str, Any]
    pids: dict[str, int]
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))

    def mc(self, *args: str, env: dict[str, str] | None = None) -> Result:
        done = subprocess.run(
            [MC_STAGING, "--state-dir", str(self.state_dir), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **(env or {})},
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def mcj(self, *args: str) -> Any:
        result = self.mc(*args, "--json")
        assert result.code == 0, f"{args}: exit {result.code}: {result.stderr}"
        return result.json

    @property
    def glb(self) -> str:
        return str(self.profile["glb_url"])

    def region_url(self, region: str) -> str:
        return next(r["url"] for r in self.profile["regions"] if r["id"] == region)

    @property
    def secret(self) -> str:
        return Path(self.profile["admin"]["token_file"]).read_text().strip()

    def query(
        self, base: str, tenant: str, body: dict[str, Any], purpose: str | None = "service"
    ) -> httpx.Response:
        headers = {"x-mc-purpose": purpose} if purpose else {}
        return self.client.post(f"{base}/v1/tenants/{tenant}/query", json=body, headers=headers)

    def put(self, base: str, tenant: str, key: str, value: str) -> httpx.Response:
        return self.query(
            base, tenant, {"id": "put_entity", "variables": {"key": key, "value": value}}
        )

    def internal(self, region: str, path: str) -> Any:
        response = self.client.get(
            f"{self.region_url(region)}{path}", headers={"authorization": f"Bearer {self.secret}"}
        )
        response.raise_for_status()
        return response.json()

    def api(self, command: str, **args: Any) -> Any:
        """Call the control plane's command API directly (fast, for timing checks)."""
        response = self.client.post(
            f"{self.profile['admin']['url']}/api/{command}",
            json=args,
            headers={"authorization": f"Bearer {self.secret}"},
        )
        response.raise_for_status()
        return response.json()["result"]

    def inject(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Inject a fault through the authenticated admin API (what chaos experiments call)."""
        response = self.client.post(
            f"{self.profile['admin']['url']}/admin/faults",
            json={"kind": kind, **fields},
            headers={"authorization": f"Bearer {self.secret}"},
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def tenant_status(self, tenant: str) -> Any:
        return self.mcj("tenant", "status", "--tenant", tenant)

    def events(self, tenant: str) -> list[dict[str, Any]]:
        return list(self.api("tripwires.events", tenant=tenant)["events"])

    def wait_for(self, what: str, check: Any, timeout: float = 20.0, every: float = 0.2) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(every)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")

    @contextlib.contextmanager
    def traffic(
        self, tenant: str, *, writes: bool = True, base: str | None = None, keys: int = 500
    ) -> Iterator[dict[str, int]]:
        """Background data-plane traffic through the GLB; yields status-code counts."""
        counts: dict[str, int] = {}
        stop = threading.Event()

        def run() -> None:
            client = httpx.Client(timeout=5.0)
            index = 0
            while not stop.is_set():
                body: dict[str, Any] = (
                    {
                        "id": "put_entity",
                        "variables": {"key": f"t:{index % keys}", "value": str(index)},
                    }
                    if writes and index % 2 == 0
                    else {"id": "get_entity", "variables": {"key": f"t:{index % keys}"}}
                )
                try:
                    response = client.post(
                        f"{base or self.glb}/v1/tenants/{tenant}/query",
                        json=body,
                        headers={"x-mc-purpose": "service"},
                    )
                    code = str(response.status_code)
                except httpx.HTTPError:
                    code = "transport-error"
                counts[code] = counts.get(code, 0) + 1
                index += 1
                stop.wait(0.002)  # ~ a few hundred req/s: enough volume, leaves CPU to the staging
            client.close()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        try:
            yield counts
        finally:
            stop.set()
            thread.join(timeout=10)


def start_staging(state_dir: Path, time_scale: int = 600) -> Staging:
    done = subprocess.run(
        [
            MC_STAGING,
            "--state-dir",
            str(state_dir),
            "up",
            "--time-scale",
            str(time_scale),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    profile = yaml.safe_load(Path(info["profile"]).read_text())
    return Staging(state_dir=state_dir, profile=profile, pids=dict(info["pids"]))


def stop_staging(staging: Staging) -> None:
    staging.client.close()
    pids = dict(staging.pids)
    pids_file = staging.state_dir / "pids.json"
    if pids_file.exists():  # a restarted region has a new pid
        pids.update(json.loads(pids_file.read_text()))
    done = subprocess.run(
        [MC_STAGING, "--state-dir", str(staging.state_dir), "down", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    leftovers = [pid for pid in pids.values() if pid_alive(pid)]
    for pid in leftovers:  # never leave a process behind, even if `down` failed
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert done.returncode == 0, done.stderr
    assert not leftovers, f"`down` left pids {leftovers} running"
