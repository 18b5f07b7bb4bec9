"""The CLI's client for the control plane's command API; maps failures to StagingError.

Standard-library HTTP on purpose: every runbook step is a new `mc-staging` process, so the
CLI keeps its import time small.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from mc_staging.errors import ERROR_KINDS, StagingError, Unreachable
from mc_staging.statedir import StateDir


class ControlClient:
    def __init__(self, state_dir: StateDir, timeout: float = 30.0) -> None:
        self.state_dir = state_dir
        self.url = state_dir.control_url()
        self.secret = state_dir.admin_secret()
        self.timeout = timeout

    def call(self, command: str, args: dict[str, object]) -> object:
        payload = json.dumps({k: v for k, v in args.items() if v is not None}).encode()
        request = urllib.request.Request(
            f"{self.url}/api/{command}",
            data=payload,
            method="POST",
            headers={"authorization": f"Bearer {self.secret}", "content-type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            raise Unreachable(
                f"staging control plane at {self.url} is not reachable ({type(exc).__name__}); "
                f"start it with `mc-staging up --state-dir {self.state_dir.root}`"
            ) from exc
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise Unreachable(
                f"control plane at {self.url} answered HTTP {status} without JSON"
            ) from exc
        if status >= 400:
            error_type = ERROR_KINDS.get(str(body.get("error")), StagingError)
            raise error_type(str(body.get("message", body)))
        return body["result"]
