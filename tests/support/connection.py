"""One connection to the real app through the HTTP protocol uvicorn is given (the connection
guard and its lane), without a socket: the bytes written to it are what a client reads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from api.connections import GuardedHttpToolsProtocol, uvicorn_options
from monitoring.logs import REQUEST_ID
from tests.support import running_app, test_settings
from tests.support.transport import MemoryTransport

TREE = "{ categories { slug name subcategories { slug name microServices { id slug name } } } }"
BODY = orjson.dumps({"query": TREE})
DEFAULT_HEADERS = [(b"date", b"Sun, 06 Dec 2026 18:00:00 GMT"), (b"server", b"uvicorn")]


def post(body: bytes = BODY, *headers: bytes, version: bytes = b"1.1") -> bytes:
    head = [
        b"POST /graphql HTTP/" + version,
        b"host: 127.0.0.1",
        b"content-type: application/json",
        b"content-length: " + str(len(body)).encode(),
        *headers,
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


@dataclass
class Connection:
    protocol: GuardedHttpToolsProtocol
    transport: MemoryTransport
    # How each request that was not answered from the connection's cache was served, in order:
    # "app" (the ASGI app, as uvicorn hands it over) or "handler" (held, served by the lane).
    served: list[str]
    read: int = 0  # bytes of `transport.written` already returned as responses

    async def responses(self, count: int) -> list[tuple[bytes, dict[bytes, bytes], bytes]]:
        """The next `count` responses written: status line, headers, body."""
        found: list[tuple[bytes, dict[bytes, bytes], bytes]] = []
        for _ in range(500):
            data = b"".join(self.transport.written)[self.read :]
            found, used = parse(data, count)
            if len(found) == count:
                self.read += used
                return found
            await asyncio.sleep(0.01)
        raise AssertionError(f"{len(found)} of {count} responses written: {data[:300]!r}")

    async def exchange(self, request: bytes) -> tuple[bytes, dict[bytes, bytes], bytes]:
        self.protocol.data_received(request)
        return (await self.responses(1))[0]


def parse(data: bytes, count: int) -> tuple[list[tuple[bytes, dict[bytes, bytes], bytes]], int]:
    found: list[tuple[bytes, dict[bytes, bytes], bytes]] = []
    at = 0
    while len(found) < count:
        end = data.find(b"\r\n\r\n", at)
        if end < 0:
            break
        status, *lines = data[at:end].split(b"\r\n")
        headers = dict(line.split(b": ", 1) for line in lines)
        length = int(headers.get(b"content-length", b"0"))
        if len(data) < end + 4 + length:
            break
        found.append((status, headers, data[end + 4 : end + 4 + length]))
        at = end + 4 + length
    return found, at


@asynccontextmanager
async def connected(database_url: str, **overrides: Any) -> AsyncIterator[Connection]:
    """One connection to the real app, through the protocol uvicorn is given."""
    settings = test_settings(migrate_on_start=False, seed_on_start=False, **overrides)
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, **overrides
    ) as api:
        served: list[str] = []

        async def app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                served.append("app")
            await api.app(scope, receive, send)

        options = uvicorn_options(settings)
        config = Config(app, log_config=None, **options)
        config.load()
        state = ServerState()
        state.default_headers = list(DEFAULT_HEADERS)
        protocol = GuardedHttpToolsProtocol(
            config=config, server_state=state, app_state=api.state, _loop=asyncio.get_running_loop()
        )
        serve_held = protocol._serve_held

        async def counted(cycle: Any) -> None:
            served.append("handler")
            await serve_held(cycle)

        protocol._serve_held = counted  # type: ignore[method-assign]
        transport = MemoryTransport()
        protocol.connection_made(transport)  # type: ignore[arg-type]
        try:
            yield Connection(protocol, transport, served)
        finally:
            protocol.connection_lost(None)


class _RequestIds(logging.Filter):
    """The request id each access line was written under."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        self.seen.append(REQUEST_ID.get())
        return True


async def logged_exchange(
    conn: Connection, request: bytes, caplog: pytest.LogCaptureFixture
) -> tuple[tuple[bytes, dict[bytes, bytes], bytes], list[tuple[str, str]]]:
    """`request`'s response, and the access lines it wrote: each line's message and the
    request id it was written under."""
    ids = _RequestIds()
    access = logging.getLogger("uvicorn.access")
    access.addFilter(ids)
    try:
        with caplog.at_level(logging.INFO, logger="uvicorn.access"):
            answered = await conn.exchange(request)
    finally:
        access.removeFilter(ids)
    messages = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    return answered, list(zip(messages, ids.seen, strict=True))


def without_id(headers: dict[bytes, bytes]) -> dict[bytes, bytes]:
    return {k: v for k, v in headers.items() if k != b"x-request-id"}
