"""Plumbing shared by the three server kinds: auth, JSON errors, config follower, uvicorn run.

Every server binds 127.0.0.1 only. Internal and admin routes demand the admin secret as a
Bearer token, compared in constant time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
import socket
from collections.abc import Awaitable, Callable

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mc_staging.errors import BadInput, StagingError, quoted
from mc_staging.model import RuntimeConfig

LOG = logging.getLogger("mc_staging")


def authorized(request: Request, secret: str) -> bool:
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[7:].encode(), secret.encode())


def unauthorized() -> JSONResponse:
    return JSONResponse(
        {"error": "unauthorized", "message": "admin secret required (Bearer token)"},
        status_code=401,
    )


def error_response(exc: StagingError) -> JSONResponse:
    return JSONResponse({"error": exc.kind, "message": exc.message}, status_code=exc.http_status)


MAX_BODY_DEPTH = 64


async def json_object(request: Request, what: str, *, empty_ok: bool = False) -> dict[str, object]:
    """The request body as a JSON object, or BadInput (HTTP 400) saying why it is not one:
    not JSON, NaN/Infinity, nested deeper than ``MAX_BODY_DEPTH``, not an object."""
    raw = await request.body()
    if empty_ok and not raw.strip():
        return {}
    try:
        body = json.loads(raw, parse_constant=_not_json)
    except RecursionError:
        body = None
        deep = True
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, our NaN refusal
        raise BadInput(f"{what} is not JSON ({quoted(str(exc))})") from None
    else:
        deep = _too_deep(body)
    if deep:
        raise BadInput(f"{what} nests objects or arrays more than {MAX_BODY_DEPTH} levels deep")
    if not isinstance(body, dict):
        raise BadInput(f"{what} must be a JSON object, got {type(body).__name__}")
    return body


def _not_json(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _too_deep(value: object) -> bool:
    """Whether objects and arrays nest deeper than ``MAX_BODY_DEPTH`` (without recursing)."""
    level = [value]
    for _ in range(MAX_BODY_DEPTH):
        children: list[object] = []
        for node in level:
            items = node.values() if isinstance(node, dict) else node
            if isinstance(node, dict | list):
                children += [child for child in items if isinstance(child, dict | list)]
        if not children:
            return False
        level = children
    return True


def query_number(request: Request, name: str, default: float) -> float:
    """A finite number from the query string, or BadInput (HTTP 400)."""
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise BadInput(f"query parameter {name!r} must be a number, got {quoted(text)}")
    return number


def guarded(
    secret: str, handler: Callable[[Request], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: refuse without the secret, map StagingError to a JSON error."""

    async def wrapper(request: Request) -> Response:
        if not authorized(request, secret):
            return unauthorized()
        try:
            return await handler(request)
        except StagingError as exc:
            return error_response(exc)

    return wrapper


class ConfigFollower:
    """Keeps the latest RuntimeConfig from the control plane (long-poll on its version)."""

    def __init__(self, control_url: str, secret: str, component: str) -> None:
        self.component = component
        self.control_url = control_url
        self.secret = secret
        self.config: RuntimeConfig | None = None
        self.changed = asyncio.Event()
        self.listeners: list[Callable[[RuntimeConfig], None]] = []

    async def first(self, client: httpx.AsyncClient, timeout: float = 30.0) -> RuntimeConfig:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                await self._fetch(client, wait=0.0)
                if self.config is not None:
                    return self.config
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"control plane at {self.control_url} never answered")
            await asyncio.sleep(0.1)

    async def _fetch(self, client: httpx.AsyncClient, wait: float) -> None:
        since = self.config.version if self.config else -1
        response = await client.get(
            f"{self.control_url}/internal/config",
            params={"since": since, "wait": wait, "component": self.component},
            headers={"authorization": f"Bearer {self.secret}"},
            timeout=wait + 5.0,
        )
        response.raise_for_status()
        config = RuntimeConfig.model_validate(response.json())
        if self.config is None or config.version != self.config.version:
            self.config = config
            for listener in self.listeners:
                listener(config)
            self.changed.set()
            self.changed = asyncio.Event()

    async def run(self, client: httpx.AsyncClient) -> None:
        while True:
            try:
                await self._fetch(client, wait=2.0)
            except (httpx.HTTPError, ValueError):
                await asyncio.sleep(0.2)


def async_client(max_connections: int = 100) -> httpx.AsyncClient:
    """An httpx client with TCP_NODELAY: without it a small request body written after the
    headers waits on the peer's delayed ACK (~40 ms per proxied POST)."""
    transport = httpx.AsyncHTTPTransport(
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    )
    return httpx.AsyncClient(transport=transport)


def serve(app: Starlette, port: int) -> None:
    """Run one ASGI app on 127.0.0.1:port (loopback only) until SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_keep_alive=30,
    )
    uvicorn.Server(config).run()
