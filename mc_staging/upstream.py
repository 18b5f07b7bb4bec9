"""A small keep-alive HTTP/1.1 client for hot paths (asyncio streams + h11).

httpx's async stack costs a few milliseconds per request on this class of machine; the GLB
forwards every data-plane request and the appliers poll the change feed continuously, so both
use this pool instead. One request per
connection at a time, idle connections reused LIFO, TCP_NODELAY, a deadline per request.
"""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urlsplit

import h11


class UpstreamError(Exception):
    """The upstream could not be reached or broke the exchange."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT)

    async def roundtrip(
        self, host: str, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, bytes, bool]:
        request = h11.Request(
            method=method,
            target=path,
            headers=[("host", host), ("content-length", str(len(body))), *headers],
        )
        self.writer.write(
            self.h11.send(request)
            + self.h11.send(h11.Data(data=body))
            + self.h11.send(h11.EndOfMessage())
        )
        await self.writer.drain()
        status = 0
        chunks: list[bytes] = []
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                data = await self.reader.read(65536)
                if not data:
                    raise UpstreamError("connection closed by upstream")
                self.h11.receive_data(data)
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise UpstreamError("connection closed by upstream")
        reusable = self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE
        if reusable:
            self.h11.start_next_cycle()
        return status, b"".join(chunks), reusable

    def close(self) -> None:
        self.writer.close()


class UpstreamPool:
    def __init__(self, max_idle_per_host: int = 64) -> None:
        self.max_idle = max_idle_per_host
        self.idle: dict[tuple[str, int], list[_Connection]] = {}

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], timeout: float
    ) -> tuple[int, bytes]:
        return await self.request("POST", url, body, headers, timeout)

    async def request(
        self, method: str, url: str, body: bytes, headers: dict[str, str], timeout: float
    ) -> tuple[int, bytes]:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        idle = self.idle.setdefault((host, port), [])
        try:
            connection = idle.pop() if idle else await self._open(host, port, timeout)
            status, content, reusable = await asyncio.wait_for(
                connection.roundtrip(f"{host}:{port}", method, path, list(headers.items()), body),
                timeout,
            )
        except (TimeoutError, OSError, h11.ProtocolError, UpstreamError) as exc:
            if "connection" in locals():
                connection.close()
            raise UpstreamError(f"{url}: {type(exc).__name__}: {exc}") from exc
        if reusable and len(idle) < self.max_idle:
            idle.append(connection)
        else:
            connection.close()
        return status, content

    async def _open(self, host: str, port: int, timeout: float) -> _Connection:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Connection(reader, writer)

    def close(self) -> None:
        for connections in self.idle.values():
            for connection in connections:
                connection.close()
        self.idle.clear()
