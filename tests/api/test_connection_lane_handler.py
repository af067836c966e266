"""The connection's lane serving what it held and the response cache does not remember
(api/connection_lane.py `_serve_held`): the handler's answer without the app's layers, with the
bytes, headers, request id and access line the app gives the same request; a fault, a lost
client and a shutdown handled as uvicorn handles them for an app.

Each request is sent twice, once with `X-Forwarded-For` (not held: the ASGI app serves it) and
once without (held: the handler serves it), on one connection to the real app."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
import pytest

from api import connection_lane, execution
from tests.support.connection import Connection, connected, logged_exchange, post, without_id

LOOKUP = orjson.dumps(
    {
        "query": "query One($slug: String!) { microService(slug: $slug) { id slug name } }",
        "variables": {"slug": "wall-painting"},
        "operationName": "One",
    }
)
UNCACHED = [
    LOOKUP,
    orjson.dumps({"query": '{ microService(slug: "wall-painting") { slug } }'}),  # lifted
    orjson.dumps({"query": "{ categories { "}),  # a syntax error
    orjson.dumps({"query": "{ noSuchField }"}),  # a validation error
    orjson.dumps({"query": "query A { categories { slug } }", "operationName": "B"}),
    b"{not json",
    orjson.dumps({"query": "mutation { cancelJob(id: 1) { id } }"}),
]
PROXIED = b"x-forwarded-for: 203.0.113.9"


async def both_ways(
    conn: Connection, body: bytes, *headers: bytes
) -> tuple[tuple[bytes, dict[bytes, bytes], bytes], tuple[bytes, dict[bytes, bytes], bytes]]:
    """The same request served by the app, then by the handler."""
    served = len(conn.served)
    by_app = await conn.exchange(post(body, PROXIED, *headers))
    by_handler = await conn.exchange(post(body, *headers))
    assert conn.served[served:] == ["app", "handler"], body
    return by_app, by_handler


async def test_what_the_connection_holds_gets_the_apps_answer_from_the_handler(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Without rate limits: their headers' seconds to the window's end move between two requests.
    async with connected(database_url, rate_limits=False) as conn:
        statuses = set()
        for body in UNCACHED:
            by_app, by_handler = await both_ways(conn, body)
            assert by_handler[0] == by_app[0], body
            assert without_id(by_handler[1]) == without_id(by_app[1]), body
            assert by_handler[2] == by_app[2], body
            assert list(by_handler[1])[:2] == [b"date", b"server"]  # uvicorn's own come first
            statuses.add(by_handler[0].split(b" ")[1])
        assert statuses == {b"200", b"400"}
        # The caller's request id, in the response and in the access line written under it.
        answered, lines = await logged_exchange(
            conn, post(LOOKUP, b"x-request-id: client-chosen-id-9"), caplog
        )
        assert conn.served[-1] == "handler"
        assert answered[1][b"x-request-id"] == b"client-chosen-id-9"
        assert orjson.loads(answered[2])["data"]["microService"]["slug"] == "wall-painting"
        assert lines == [('127.0.0.1:50000 - "POST /graphql HTTP/1.1" 200', "client-chosen-id-9")]
        # Its own id otherwise, one per request; and one write per response.
        written = len(conn.transport.written)
        first, second = [await conn.exchange(post(LOOKUP)) for _ in range(2)]
        assert first[1][b"x-request-id"] != second[1][b"x-request-id"]
        assert len(conn.transport.written) == written + 2
        assert not conn.transport.closed


async def test_the_handler_counts_a_request_against_the_rate_limit_as_the_app_does(
    database_url: str,
) -> None:
    async with connected(database_url, rate_limits=True, rate_limit_anonymous=3) as conn:
        # Two budgets: the proxy's client's, and the connection's peer's.
        by_app, by_handler = await both_ways(conn, LOOKUP)
        assert by_app[1][b"ratelimit"].startswith(b'"anonymous";r=2;')
        assert by_handler[1][b"ratelimit"].startswith(b'"anonymous";r=2;')
        assert by_handler[1][b"ratelimit-policy"] == by_app[1][b"ratelimit-policy"]
        answers = [await conn.exchange(post(LOOKUP)) for _ in range(3)]
        assert conn.served[-3:] == ["handler"] * 3
        assert [a[1][b"ratelimit"][:16] for a in answers[:2]] == [
            b'"anonymous";r=1;',
            b'"anonymous";r=0;',
        ]
        again = answers[2]
        assert again[0] == b"HTTP/1.1 429 Too Many Requests"
        assert orjson.loads(again[2])["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert b"retry-after" in again[1]


class Gate:
    """Holds the handler's requests at the door until opened."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.inside = asyncio.Event()
        self.open = asyncio.Event()
        serve = execution.serve

        async def held(*args: Any) -> Any:
            self.inside.set()
            await self.open.wait()
            return await serve(*args)

        monkeypatch.setattr(connection_lane, "serve", held)


async def test_a_fault_in_the_handler_is_answered_as_uvicorn_answers_an_apps(
    database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_: Any) -> Any:
        raise RuntimeError("a bug")

    async with connected(database_url) as conn:
        monkeypatch.setattr(connection_lane, "serve", broken)
        with caplog.at_level(logging.ERROR):
            status, headers, body = await conn.exchange(post(LOOKUP))
        assert conn.served == ["handler"]
        assert status == b"HTTP/1.1 500 Internal Server Error"
        assert body == b"Internal Server Error"
        assert headers[b"connection"] == b"close"
        assert conn.transport.closed
        [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert logged.getMessage().startswith("Exception in ASGI application")
        assert logged.exc_info is not None
        assert logged.exc_info[0] is RuntimeError


async def test_a_client_gone_before_its_answer_gets_nothing_and_nothing_fails(
    database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    gate = Gate(monkeypatch)
    async with connected(database_url) as conn:
        with caplog.at_level(logging.INFO):
            conn.protocol.data_received(post(LOOKUP))
            await asyncio.wait_for(gate.inside.wait(), 5)
            conn.protocol.connection_lost(None)
            gate.open.set()
            for _ in range(20):
                await asyncio.sleep(0.01)
        assert conn.served == ["handler"]
        assert conn.transport.written == []
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert not [r for r in caplog.records if r.name == "uvicorn.access"]
        assert not conn.protocol.tasks  # the handler's task ended


async def test_a_shutdown_lets_the_request_under_way_finish_then_closes(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(monkeypatch)
    async with connected(database_url) as conn:
        conn.protocol.data_received(post(LOOKUP))
        await asyncio.wait_for(gate.inside.wait(), 5)
        conn.protocol.shutdown()
        assert not conn.transport.closed
        assert conn.protocol.tasks  # what a shutdown waits for
        gate.open.set()
        status, headers, body = (await conn.responses(1))[0]
        assert status == b"HTTP/1.1 200 OK"
        assert headers[b"connection"] == b"close"
        assert orjson.loads(body)["data"]["microService"]["slug"] == "wall-painting"
        assert conn.transport.closed
        assert conn.served == ["handler"]
