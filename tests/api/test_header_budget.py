"""One budget of bytes outside bodies per request on a connection (request line, headers, a
chunked body's trailers), whatever the read pattern: past MAX_HEADER_BYTES the request gets 431
or its connection is closed, and nothing past the budget is kept."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.api.ws_support import rss_bytes
from tests.support.live_server import live_server

LIMIT = 16 * 1024
LIMITS = {"max_header_bytes": LIMIT, "header_timeout_seconds": 5.0, "body_timeout_seconds": 5.0}


@pytest.fixture
async def server(database_url: str) -> AsyncIterator[tuple[str, int]]:
    async with live_server(database_url, **LIMITS) as url:
        parts = urlsplit(url)
        yield parts.hostname or "127.0.0.1", parts.port or 80


async def _send_until_refused(writer: asyncio.StreamWriter, chunks: int, chunk: bytes) -> int:
    """Write `chunk` up to `chunks` times; return how many bytes went out before the server
    stopped reading (it closed, or its window stayed full)."""
    sent = 0
    try:
        for _ in range(chunks):
            writer.write(chunk)
            await asyncio.wait_for(writer.drain(), timeout=2.0)
            sent += len(chunk)
    except (ConnectionError, OSError, TimeoutError):
        pass
    return sent


async def _answer(reader: asyncio.StreamReader) -> bytes:
    """What the server sent before it closed (a reset or a broken pipe, when it closed with our
    bytes unread, loses the rest)."""
    try:
        return await asyncio.wait_for(reader.read(), timeout=5.0)
    except ConnectionError:
        return b""


async def _health(host: str, port: int) -> None:
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"http://{host}:{port}/health", timeout=3)).status_code == 200


@pytest.mark.parametrize("size", [20 * 1024, 100 * 1024])
async def test_a_whole_request_with_a_big_header_in_one_read_gets_431(
    server: tuple[str, int], size: int
) -> None:
    host, port = server
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: "
        + b"b" * size
        + b"\r\n\r\n"
    )
    await writer.drain()
    data = await _answer(reader)
    assert data.startswith(b"HTTP/1.1 431 "), data[:200]
    assert b" 200 OK" not in data
    writer.close()
    await _health(host, port)


async def test_many_small_header_lines_in_one_read_get_431(server: tuple[str, int]) -> None:
    host, port = server
    reader, writer = await asyncio.open_connection(host, port)
    lines = b"".join(b"X-H%d: v\r\n" % i for i in range(4000))
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + lines + b"\r\n")
    await writer.drain()
    data = await _answer(reader)
    assert data.startswith(b"HTTP/1.1 431 "), data[:200]
    writer.close()


async def test_endless_trailers_of_a_chunked_body_are_refused(server: tuple[str, int]) -> None:
    host, port = server
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        b'13\r\n{"query":"{ __typ"}\r\n0\r\n'
    )
    line = b"X-Trailer: " + b"t" * 1000 + b"\r\n"
    started, before = time.monotonic(), rss_bytes()
    sent = await _send_until_refused(writer, 50_000, line * 64)  # up to 3 GB, if accepted
    grown = rss_bytes() - before
    data = await _answer(reader)
    assert b" 200 " not in data
    assert sent < 8 * 1024 * 1024, f"{sent} bytes of trailers were read"
    assert grown < 30 * 1024 * 1024, f"RSS grew {grown // 1024 // 1024} MB"
    assert time.monotonic() - started < 5.0
    writer.close()
    await _health(host, port)


async def test_one_endless_trailer_line_is_refused(server: tuple[str, int]) -> None:
    host, port = server
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Trailer: "
    )
    sent = await _send_until_refused(writer, 50_000, b"t" * 65536)
    await _answer(reader)
    assert sent < 8 * 1024 * 1024, f"{sent} bytes of one trailer were read"
    writer.close()


async def test_header_lines_pipelined_behind_an_upload_are_refused(
    server: tuple[str, int],
) -> None:
    host, port = server
    reader, writer = await asyncio.open_connection(host, port)
    body = b'{"query":"{ __typename }"}'
    first = (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body
    )
    writer.write(first + b"POST /graphql HTTP/1.1\r\nHost: x\r\n")
    line = b"X-Pipelined: " + b"p" * 1000 + b"\r\n"
    sent = await _send_until_refused(writer, 50_000, line * 64)
    data = await _answer(reader)
    assert data.count(b"HTTP/1.1 200 ") <= 1
    assert sent < 8 * 1024 * 1024, f"{sent} bytes of pipelined headers were read"
    writer.close()
    await _health(host, port)


async def test_headers_and_trailers_within_the_budget_are_answered(
    server: tuple[str, int],
) -> None:
    host, port = server
    reader, writer = await asyncio.open_connection(host, port)
    body = b'{"query":"{ __typename }"}'
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-Pad: " + b"p" * 4000 + b"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"%x\r\n" % len(body) + body + b"\r\n0\r\nX-Trailer: " + b"t" * 4000 + b"\r\n\r\n"
    )
    await writer.drain()
    data = await _answer(reader)
    assert data.startswith(b"HTTP/1.1 200 "), data[:200]
    assert b"Query" in data
    writer.close()
