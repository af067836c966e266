"""A rolling restart under publish load, with real server processes: partners publish with
idempotency keys to one instance, which gets SIGTERM; what it cannot take (a refused connection,
a 503) they send again, same key, to the other instance, as a load balancer would. Every key is
stored once, nothing answers a 5xx but 503, the stopping instance finishes what it had and exits
cleanly, and its open WebSocket is closed with 1001 (going away) so the client reconnects
elsewhere."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.jobs import PUBLISH, publish_input
from tests.support.keys import issue_api_key
from tests.support.polling import eventually
from tests.support.processes import ServerProcess, serving

PARTNERS = 6
QUIET = {"LOG_LEVEL": "warning", "SEARCH_SEMANTIC": "false", "WORKERS": "1"}


async def _subscribed(url: str) -> ClientConnection:
    socket = await connect(
        url.replace("http", "ws") + "/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
    )
    await socket.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    return socket


async def test_sigterm_under_publish_load_drops_and_doubles_nothing(
    empty_database_url: str, tmp_path: Path
) -> None:
    with (
        serving(empty_database_url, tmp_path / "a.log", timeout=60, **QUIET) as first,
        serving(empty_database_url, tmp_path / "b.log", timeout=60, **QUIET) as second,
    ):
        await _run(first, second, empty_database_url)


async def _run(first: ServerProcess, second: ServerProcess, database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        key = await issue_api_key(conn, name="rolling", scopes=["jobs:write"])
    finally:
        await conn.close()
    statuses: Counter[int] = Counter()
    stored: list[str] = []
    stop = asyncio.Event()
    first_down = asyncio.Event()

    async def publish(client: httpx.AsyncClient, url: str, idempotency: str) -> bool:
        try:
            response = await client.post(
                f"{url}/graphql",
                json={"query": PUBLISH, "variables": publish_input(idempotency)},
                headers=key.headers,
                timeout=30,
            )
        except httpx.TransportError:
            return False  # refused, or cut before an answer: sent again, same key
        statuses[response.status_code] += 1
        if response.status_code == 503:
            return False
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body
        return True

    async def partner() -> None:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=1)) as client:
            while not stop.is_set():
                idempotency = uuid.uuid4().hex
                # The balancer sends to the first instance until it stops taking connections.
                url = second.url if first_down.is_set() else first.url
                if not await publish(client, url, idempotency):
                    first_down.set()
                    for _ in range(20):
                        if await publish(client, second.url, idempotency):
                            break
                    else:
                        raise AssertionError(f"{idempotency} never stored")
                stored.append(idempotency)

    socket = await _subscribed(first.url)
    partners = [asyncio.create_task(partner()) for _ in range(PARTNERS)]
    await eventually(lambda: len(stored) >= 2 * PARTNERS, timeout=30, what="publishing")
    first.process.send_signal(signal.SIGTERM)
    closed_with: int | None = None
    try:
        await asyncio.wait_for(socket.recv(), timeout=10)
    except ConnectionClosed as exc:
        closed_with = exc.rcvd.code if exc.rcvd is not None else None
    exit_code = await asyncio.to_thread(first.process.wait, 30)
    after = len(stored)
    # The partners go on through the other instance.
    await eventually(lambda: len(stored) >= after + PARTNERS, timeout=30, what="publishing on")
    stop.set()
    await asyncio.gather(*partners)

    assert closed_with == 1001
    # uvicorn re-raises the signal once it has shut down cleanly: the exit says "SIGTERM".
    assert exit_code in (0, -signal.SIGTERM), first.log.read_text()
    log = first.log.read_text()
    assert "timeout graceful shutdown exceeded" not in log
    assert "Traceback" not in log
    assert all(code in (200, 503) for code in statuses), statuses
    conn = await asyncpg.connect(database_url)
    try:
        jobs = await conn.fetchval("SELECT count(*) FROM jobs")
        keys = await conn.fetch("SELECT key FROM idempotency_keys")
    finally:
        await conn.close()
    assert Counter(r["key"] for r in keys) == Counter(stored)  # each once, none lost
    assert jobs == len(stored)  # and no job stored twice
