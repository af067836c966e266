"""WebSocket limits on a real uvicorn server: messages bounded by WS_MAX_MESSAGE_BYTES before
they are buffered, a lost socket's partial message freed with it, sockets capped apart from
HTTP, and the connection_init and idle timeouts closing with graphql-transport-ws's codes."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.api.ws_support import PROTOCOL, frame_head, raw_socket, rss_bytes, ws_url
from tests.support.live_server import live_server

MB = 1024 * 1024
TEXT, CONTINUATION = 0x1, 0x0


async def _push(writer: asyncio.StreamWriter, total: int) -> int:
    """Write up to `total` payload bytes; how many went out before the server stopped reading."""
    chunk, sent = b"a" * 65536, 0
    try:
        while sent < total:
            writer.write(chunk)
            await asyncio.wait_for(writer.drain(), timeout=1.0)
            sent += len(chunk)
    except (ConnectionError, OSError, TimeoutError):
        pass
    return sent


async def _close_frame_code(reader: asyncio.StreamReader) -> int | None:
    """The code of the close frame the server sent, if any, once it has closed."""
    try:
        data = await asyncio.wait_for(reader.read(), timeout=5)
    except ConnectionError:
        return None
    at = data.find(b"\x88")
    return int.from_bytes(data[at + 2 : at + 4], "big") if at >= 0 and len(data) >= at + 4 else None


async def test_a_message_over_the_limit_closes_the_socket_before_it_is_buffered(
    database_url: str,
) -> None:
    async with live_server(database_url, ws_max_message_bytes=64 * 1024) as url:
        parts = urlsplit(url)
        sockets = [await raw_socket(parts.hostname or "", parts.port or 80) for _ in range(10)]
        before = rss_bytes()
        for _, writer in sockets:
            writer.write(frame_head(TEXT, 12 * MB))
        sent = await asyncio.gather(*(_push(w, 8 * MB) for _, w in sockets))
        grown = rss_bytes() - before
        for reader, _ in sockets:  # closed (its close frame may be lost to a reset)
            assert await _close_frame_code(reader) in {1009, None}
        for _, writer in sockets:
            writer.close()
        assert max(sent) < 2 * MB, sent
        assert grown < 30 * MB, f"RSS grew {grown / MB:.0f} MB"


async def test_fragments_of_one_message_count_together(database_url: str) -> None:
    async with live_server(database_url, ws_max_message_bytes=64 * 1024) as url:
        parts = urlsplit(url)
        reader, writer = await raw_socket(parts.hostname or "", parts.port or 80)
        for opcode in (TEXT, CONTINUATION, CONTINUATION):
            writer.write(frame_head(opcode, 40 * 1024, fin=False) + b"a" * 40 * 1024)
        await writer.drain()
        assert await _close_frame_code(reader) == 1009
        writer.close()


async def test_a_lost_socket_frees_its_partial_message(database_url: str) -> None:
    async with live_server(database_url, ws_max_message_bytes=8 * MB) as url:
        parts = urlsplit(url)

        async def lose_ten_sockets() -> None:
            sockets = [await raw_socket(parts.hostname or "", parts.port or 80) for _ in range(10)]
            for _, writer in sockets:
                writer.write(frame_head(TEXT, 7 * MB))
            await asyncio.gather(*(_push(w, 6 * MB) for _, w in sockets))
            for _, writer in sockets:
                writer.transport.abort()
            await asyncio.sleep(0.5)

        # The first round warms the allocator's arenas up (what it keeps is not a leak, and
        # depends on what ran before in this process); a leak would keep 60 MB per round after.
        await lose_ten_sockets()
        before = rss_bytes()
        for _ in range(3):
            await lose_ten_sockets()
        grown = rss_bytes() - before
        assert grown < 40 * MB, f"RSS kept {grown / MB:.0f} MB after the sockets were lost"


async def _connected(url: str) -> ClientConnection | None:
    """A socket through connection_ack, or None when the handshake got 503."""
    try:
        ws = await connect(ws_url(url), subprotocols=[PROTOCOL])  # type: ignore[list-item]
    except InvalidStatus as exc:
        if exc.response.status_code == 503:
            return None
        raise
    await ws.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
    return ws


async def _close_code(ws: ClientConnection, *, ping: bool = False) -> int | None:
    """The code the server closes `ws` with (pinging it meanwhile, if asked)."""

    async def until_closed() -> None:
        async with asyncio.timeout(5):  # fails the test when the server keeps it open
            while True:
                if ping:
                    await ws.send(json.dumps({"type": "ping"}))
                await ws.recv()
                await asyncio.sleep(0.1)

    with pytest.raises(ConnectionClosed) as closed:
        await until_closed()
    return closed.value.rcvd.code if closed.value.rcvd is not None else None


async def test_websockets_have_their_own_cap_and_http_is_still_served(
    database_url: str,
) -> None:
    async with live_server(
        database_url, max_connections=20, ws_max_connections=5, ws_idle_timeout_seconds=60
    ) as url:
        attempts = [await _connected(url) for _ in range(25)]
        opened = [ws for ws in attempts if ws is not None]
        try:
            assert len(opened) == 5
            async with httpx.AsyncClient() as client:
                responses = await asyncio.gather(
                    *(client.get(f"{url}/health", timeout=5) for _ in range(10))
                )
            assert [r.status_code for r in responses] == [200] * 10
        finally:
            for ws in opened:
                await ws.close()


async def test_a_socket_that_never_sends_connection_init_is_closed_with_4408(
    database_url: str,
) -> None:
    async with (
        live_server(database_url, ws_connection_init_timeout_seconds=0.5) as url,
        connect(ws_url(url), subprotocols=[PROTOCOL]) as ws,  # type: ignore[list-item]
    ):
        started = asyncio.get_running_loop().time()
        assert await _close_code(ws) == 4408
        assert asyncio.get_running_loop().time() - started < 2.0


async def test_a_socket_with_no_subscription_is_closed_after_the_idle_timeout(
    database_url: str,
) -> None:
    async with live_server(database_url, ws_idle_timeout_seconds=0.6) as url:
        ws = await _connected(url)
        assert ws is not None
        started = asyncio.get_running_loop().time()
        assert await _close_code(ws, ping=True) == 1000  # pings are no activity
        assert 0.5 <= asyncio.get_running_loop().time() - started < 3.0
