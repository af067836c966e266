"""Fuzzing the graphql-transport-ws protocol on a live server: seeded random messages, frames
that are not JSON or not text, and every field of every message with the wrong type. Whatever
arrives, the server closes or answers by the protocol, logs no traceback, and keeps serving."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.api.ws_support import PROTOCOL, tracebacks, ws_url
from tests.support.live_server import live_server

MESSAGES = 150
TYPES = ["connection_init", "ping", "pong", "subscribe", "complete", "next", "error", "", "x"]
QUERIES = [
    "subscription { alertsChanged { name } }",
    "subscription($w: Int!) { lookupStatsUpdated(windowMinutes: $w) { total } }",
    "{ __typename }",
    "query { categories { slug } }",
    "subscription {",
    "mutation { nothing }",
    "",
]


def _anything(rng: random.Random, depth: int = 0) -> Any:
    """A JSON value of a random type, nested a little."""
    kind = rng.randrange(8 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 2**31, 2**63, 10**30, rng.randint(-1000, 1000)])
    if kind == 3:
        return rng.uniform(-1e6, 1e6)
    if kind == 4:
        return rng.choice(["", "1", "x" * rng.randint(1, 2000), "\u202e", "{}", "\x00"])
    if kind == 5:
        return rng.choice(QUERIES)
    if kind == 6:
        return [_anything(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(["query", "id", "a", "variables"]): _anything(rng, depth + 1)}


def _field(rng: random.Random, good: Any) -> Any:
    """The right value most of the time, a wrong one (or none) otherwise."""
    roll = rng.random()
    if roll < 0.6:
        return good
    return _anything(rng) if roll < 0.9 else _MISSING


_MISSING = object()


def _message(rng: random.Random) -> str | bytes:
    roll = rng.random()
    if roll < 0.05:
        return rng.randbytes(rng.randint(0, 64))  # a binary frame
    if roll < 0.1:
        return rng.choice(["", "{", "null", "[]", '{"type":', "not json", '"subscribe"'])
    if roll < 0.15:
        return json.dumps(_anything(rng))
    payload = {
        "query": _field(rng, rng.choice(QUERIES)),
        "variables": _field(rng, {"w": rng.choice([5, -1, 10**12, "x"])}),
        "operationName": _field(rng, None),
        "extensions": _field(rng, {}),
    }
    message = {
        "type": _field(rng, rng.choice(TYPES)),
        "id": _field(rng, str(rng.randint(0, 5))),
        "payload": _field(rng, {k: v for k, v in payload.items() if v is not _MISSING}),
    }
    return json.dumps({k: v for k, v in message.items() if v is not _MISSING})


async def _open(url: str, rng: random.Random) -> ClientConnection:
    ws = await connect(ws_url(url), subprotocols=[PROTOCOL])  # type: ignore[list-item]
    if rng.random() < 0.8:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
    return ws


async def _drain(ws: ClientConnection) -> bool:
    """Read what the server answered for a moment; False once it has closed the socket."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout=0.02)
    except TimeoutError:
        return True
    except ConnectionClosed:
        return False


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_protocol_messages_never_log_a_traceback_or_stop_the_server(
    database_url: str, seed: int
) -> None:
    rng = random.Random(seed)
    closes = 0
    # uvicorn configures its loggers as it starts (dropping their handlers): catch after that.
    async with live_server(database_url, ws_idle_timeout_seconds=60) as url:
        with tracebacks() as logged:
            ws = await _open(url, rng)
            for _ in range(MESSAGES):
                try:
                    await ws.send(_message(rng))
                    alive = await _drain(ws)
                except ConnectionClosed:
                    alive = False
                if not alive:
                    closes += 1
                    await ws.close()
                    ws = await _open(url, rng)
            await ws.close()
            async with httpx.AsyncClient() as client:
                assert (await client.get(f"{url}/health", timeout=5)).status_code == 200
            async with connect(ws_url(url), subprotocols=[PROTOCOL]) as fresh:  # type: ignore[list-item]
                await fresh.send(json.dumps({"type": "connection_init"}))
                ack = json.loads(await asyncio.wait_for(fresh.recv(), 5))
                assert ack["type"] == "connection_ack"
            await asyncio.sleep(0.1)  # let closing handlers log, if they would
    assert logged == []
    assert closes > 0  # the malformed messages did reach the protocol's checks
