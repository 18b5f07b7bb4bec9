"""The CLI's client for the control plane's command API; maps failures to StagingError."""

from __future__ import annotations

import httpx

from mc_staging.errors import ERROR_KINDS, StagingError, Unreachable
from mc_staging.statedir import StateDir


class ControlClient:
    def __init__(self, state_dir: StateDir, timeout: float = 30.0) -> None:
        self.state_dir = state_dir
        self.url = state_dir.control_url()
        self.secret = state_dir.admin_secret()
        self.timeout = timeout

    def call(self, command: str, args: dict[str, object]) -> object:
        try:
            response = httpx.post(
                f"{self.url}/api/{command}", json={k: v for k, v in args.items()
                                                   if v is not None},
                headers={"authorization": f"Bearer {self.secret}"}, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise Unreachable(
                f"staging control plane at {self.url} is not reachable ({type(exc).__name__}); "
                f"start it with `mc-staging up --state-dir {self.state_dir.root}`") from exc
        try:
            body = response.json()
        except ValueError as exc:
            raise Unreachable(f"control plane at {self.url} answered HTTP "
                              f"{response.status_code} without JSON") from exc
        if response.status_code >= 400:
            error_type = ERROR_KINDS.get(str(body.get("error")), StagingError)
            raise error_type(str(body.get("message", body)))
        return body["result"]
