"""Connection hygiene on a real uvicorn server: idle connections, slow headers and slow bodies
are closed after their deadlines, oversized headers get 431, and the open-file limit is raised
at start."""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest

from api.connections import raise_open_file_limit
from tests.support.live_server import live_server

LIMITS = {
    "connection_idle_timeout_seconds": 0.5,
    "header_timeout_seconds": 1.0,
    "body_timeout_seconds": 1.0,
    "max_header_bytes": 16 * 1024,
    "max_connections": 200,
}


@pytest.fixture
async def server(database_url: str) -> AsyncIterator[tuple[str, int]]:
    async with live_server(database_url, **LIMITS) as url:
        parts = urlsplit(url)
        yield parts.hostname or "127.0.0.1", parts.port or 80


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """What the server sent before closing; fails when it is still open after `seconds`."""
    data = await asyncio.wait_for(reader.read(), timeout=seconds)
    return data


async def test_a_connection_that_never_sends_a_byte_is_closed(server: tuple[str, int]) -> None:
    reader, writer = await asyncio.open_connection(*server)
    started = time.monotonic()
    assert await _closed_within(reader, 3.0) == b""
    assert time.monotonic() - started < 2.0
    writer.close()


async def test_slow_headers_are_cut_off(server: tuple[str, int]) -> None:
    reader, writer = await asyncio.open_connection(*server)
    started = time.monotonic()
    request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    closed = False
    for byte in request:  # one byte every 50 ms, forever if allowed
        try:
            writer.write(bytes([byte]))
            await writer.drain()
        except (ConnectionError, OSError):
            closed = True
            break
        if reader.at_eof():
            closed = True
            break
        await asyncio.sleep(0.05)
        if time.monotonic() - started > 4:
            break
    if not closed:
        assert await _closed_within(reader, 1.0) == b""
    assert time.monotonic() - started < 3.0
    writer.close()


async def test_a_slow_body_is_cut_off(server: tuple[str, int]) -> None:
    reader, writer = await asyncio.open_connection(*server)
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )
    await writer.drain()
    started = time.monotonic()
    data = await _closed_within(reader, 4.0)
    assert b" 200 " not in data
    assert time.monotonic() - started < 3.0
    writer.close()


@pytest.mark.parametrize("size", [100 * 1024, 10 * 1024 * 1024])
async def test_oversized_headers_get_431_and_the_worker_stays_responsive(
    server: tuple[str, int], size: int
) -> None:
    host, port = server
    reader, writer = await asyncio.open_connection(host, port)
    started = time.monotonic()
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ")
    try:
        for _ in range(size // 65536 + 1):
            writer.write(b"b" * 65536)
            await writer.drain()
    except (ConnectionError, OSError):
        pass  # refused mid-way: exactly the point
    data = await _closed_within(reader, 5.0)
    assert data.startswith(b"HTTP/1.1 431 "), data[:200]
    assert b'"REQUEST_HEADER_FIELDS_TOO_LARGE"' in data
    assert b"x-request-id: " in data
    assert time.monotonic() - started < 2.0
    writer.close()
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://{host}:{port}/health", timeout=2)
        assert response.status_code == 200


async def test_idle_sockets_are_reaped_and_the_server_keeps_answering(
    server: tuple[str, int],
) -> None:
    host, port = server
    idle = [await asyncio.open_connection(host, port) for _ in range(150)]
    await asyncio.sleep(1.0)
    closed = await asyncio.gather(*(_closed_within(r, 2.0) for r, _ in idle))
    assert closed == [b""] * len(idle)
    for _, writer in idle:
        writer.close()
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://{host}:{port}/health", timeout=2)
        assert response.status_code == 200


def test_the_open_file_limit_is_raised_to_the_hard_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lowered = min(soft, 1024, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowered, hard))
    try:
        before, after = raise_open_file_limit()
        assert before == lowered
        assert after == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        assert after == hard or hard == resource.RLIM_INFINITY
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, lowered), hard))
