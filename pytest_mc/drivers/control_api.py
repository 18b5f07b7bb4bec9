"""The control API: the control CLI's commands over HTTP, for the work that runs them by the
thousand (the §B.2 KPI campaign), where a process per command would be most of the cost.

`POST {control.api_url}/api/{command}` with the admin secret as a bearer token; `command` is
the CLI's words joined by dots (`autonomy enact` → `autonomy.enact`) and the body holds the
command's options as a JSON object, record files inline (docs/target-contract.md §2,
"Control API"). The answer maps onto the CLI's exit codes: 200 is 0, 409 `refused` is 1
(returned), 400 `bad_input` is 2 (`InputError`), anything else, or no answer, is 3
(`UnreachableError`). The API authenticates with the admin secret, which the suite reads only
inside the safety fence, so nothing goes over it to a target outside the fence; a command that
is not one of the contract's reads is checked against the fence before it is sent, as the
CLI's are.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from pytest_mc.drivers.chaos_target import admin_secret
from pytest_mc.drivers.control import is_read_command
from pytest_mc.errors import InputError, ProfileError, UnreachableError
from pytest_mc.target.fence import require_change_allowed
from pytest_mc.target.profile import TargetProfile

_MESSAGE_CHARS = 300


@dataclass(frozen=True)
class ApiAnswer:
    """One command over the control API, as the CLI would have ended: its exit code (0 or 1),
    the result (what `--json` prints; None on a refusal) and the target's message."""

    command: tuple[str, ...]
    exit_code: int
    result: Any
    message: str


class ControlApi:
    """Typed access to the target's control API (`control.api_url`)."""

    def __init__(
        self,
        profile: TargetProfile,
        *,
        on_secret: Callable[[str], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`on_secret` is given the admin secret when it is read (the session's redactor)."""
        url = profile.control.api_url
        if url is None:
            raise ProfileError(
                f"profile {profile.name!r} has no control.api_url; the control CLI is the only "
                "channel of this target"
            )
        self.profile = profile
        self.url = url.rstrip("/")
        self._transport = transport
        self._on_secret = on_secret
        self._client: httpx.Client | None = None

    def __enter__(self) -> ControlApi:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _session(self) -> httpx.Client:
        if self._client is None:
            secret = admin_secret(self.profile)
            if self._on_secret is not None:
                self._on_secret(secret)
            self._client = httpx.Client(
                timeout=self.profile.control.timeout_seconds,
                transport=self._transport,
                headers={"authorization": f"Bearer {secret}"},
            )
        return self._client

    def attempt(self, *command: str, args: Mapping[str, object]) -> ApiAnswer:
        """Run one command; returns a refusal (exit 1), raises on bad input or a dead target."""
        named = " ".join(command)
        if not is_read_command(command):
            require_change_allowed(self.profile, what=f"control command {named!r}")
        body = {name: value for name, value in args.items() if value is not None}
        url = f"{self.url}/api/{'.'.join(command)}"
        try:
            response = self._session().post(url, json=body)
        except httpx.HTTPError as exc:
            raise UnreachableError(
                f"control API unreachable at {url} ({type(exc).__name__}: {exc})"
            ) from exc
        answer = _object(response)
        message = str(answer.get("message") or "")[:_MESSAGE_CHARS]
        if response.status_code == 200 and "result" in answer:
            return ApiAnswer(command, 0, answer["result"], "")
        if response.status_code == 409:
            return ApiAnswer(command, 1, None, message)
        if response.status_code == 400:
            raise InputError(f"control API refused the input ({named}): {message}")
        raise UnreachableError(
            f"control API answered {response.status_code} for {named}"
            + (f": {message}" if message else " without the contract's result")
        )


def _object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
