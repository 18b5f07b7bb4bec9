"""An in-process control plane for input tests: a state directory under tmp_path whose ports
nobody listens on, and the control app called through httpx's ASGI transport (no server, no
socket, no lifespan: the tick loop never runs)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

import httpx

from mc_staging.control_app import ControlServer
from mc_staging.lifecycle import COMPONENTS
from mc_staging.statedir import StateDir, free_port


@dataclass(frozen=True)
class Answer:
    status: int
    body: object


class InProcessControl:
    """`POST`/`GET` against a real `ControlServer` app on one event loop."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        state_dir = StateDir(root)
        state_dir.create_secrets()
        state_dir.write_json(state_dir.ports_file, {c: free_port() for c in COMPONENTS})
        state_dir.write_json(state_dir.pids_file, {})
        self.secret = state_dir.admin_secret()
        self.server = ControlServer(state_dir, 600.0, 0.1)
        self.runner = asyncio.Runner()
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.server.app()), base_url="http://control"
        )

    def request(self, method: str, path: str, content: bytes = b"") -> Answer:
        async def send() -> httpx.Response:
            return await self.client.request(
                method, path, content=content, headers={"authorization": f"Bearer {self.secret}"}
            )

        response = self.runner.run(send())
        try:
            body: object = response.json()
        except ValueError:
            body = response.text
        return Answer(response.status_code, body)

    def post_json(self, path: str, body: object) -> Answer:
        return self.request("POST", path, json.dumps(body).encode())

    def close(self) -> None:
        self.runner.run(self.client.aclose())
        self.runner.run(self.server.plane.client.aclose())
        self.runner.close()
        self.server.plane.store.db.close()
