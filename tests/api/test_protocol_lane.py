"""The connection's own lane (api/connection_lane.py, under the guard of api/connections.py): a
POST to /graphql whose body the response cache remembers is answered by the HTTP protocol as
soon as its body is in, with the bytes and headers the app gives it; another body it held is
served by the handler without the app's layers, with the bytes the app would give it; anything
else reaches the app as uvicorn would hand it over.

Driven through uvicorn's protocol in process, on the real app: the bytes written to the
connection are what a client reads."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from api import express as express_lane
from tests.support.connection import BODY, connected, logged_exchange, post, without_id


async def test_a_remembered_post_is_answered_by_the_connection_with_the_apps_bytes(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with connected(database_url) as conn:
        first = await conn.exchange(post())
        assert conn.served == ["handler"]  # the handler answers, and the cache remembers it
        again, lines = await logged_exchange(
            conn, post(BODY, b"x-request-id: client-chosen-id-7"), caplog
        )
        assert conn.served == ["handler"]  # the connection answered
        assert again[0] == first[0] == b"HTTP/1.1 200 OK"
        assert again[2] == first[2]
        assert without_id(again[1]) == without_id(first[1])
        assert list(again[1])[:2] == [b"date", b"server"]  # uvicorn's own headers come first
        assert again[1][b"x-request-id"] == b"client-chosen-id-7"
        # The app's head with its body in one write (api/one_write.py), then the connection's.
        assert len(conn.transport.written) == 2
        # The access line uvicorn writes, with the request's id.
        assert lines == [('127.0.0.1:50000 - "POST /graphql HTTP/1.1" 200', "client-chosen-id-7")]
        fresh = await conn.exchange(post())
        assert fresh[1][b"x-request-id"] not in (b"", b"client-chosen-id-7")
        # Compressed as the app compresses it, once the app has compressed it.
        gzip = b"accept-encoding: gzip"
        by_app = await conn.exchange(post(BODY + b" ", gzip))
        by_connection = await conn.exchange(post(BODY + b" ", gzip))
        assert conn.served == ["handler"] * 2
        assert by_connection[1][b"content-encoding"] == by_app[1][b"content-encoding"] == b"gzip"
        assert by_connection[2] == by_app[2]
        # With credentials: what the app answers the same request (a proxy's header sends it
        # there without changing the answer).
        bearer = b"authorization: Bearer not-a-key"
        by_app = await conn.exchange(post(BODY, bearer, b"x-forwarded-for: 203.0.113.9"))
        by_connection = await conn.exchange(post(BODY, bearer))
        assert conn.served == ["handler", "handler", "app"]
        assert by_connection[0] == by_app[0]
        assert without_id(by_connection[1]) == without_id(by_app[1])
        assert by_connection[1][b"cache-control"] == b"no-store"
        assert by_connection[2] == by_app[2]
        assert not conn.transport.closed


async def test_what_the_connection_cannot_answer_exactly_reaches_the_app_or_the_handler(
    database_url: str,
) -> None:
    async with connected(database_url) as conn:
        await conn.exchange(post())
        conn.served.clear()
        cases = [
            (post(BODY, b"origin: https://wizard.example"), b"200"),  # CORS is the middleware's
            (post(BODY, b"x-forwarded-for: 203.0.113.9"), b"200"),  # the proxy headers' client
            (post(BODY, b"accept: text/html"), b"406"),
            (post(BODY + b"  "), b"200"),  # bytes the cache does not remember
            (post(BODY).replace(b"POST /graphql", b"POST /graphql?x=1"), b"200"),
        ]
        for request, status in cases:
            answered = await conn.exchange(request)
            assert status in answered[0], (request, answered)
        assert conn.served == ["app", "app", "app", "handler", "app"]
        refused = post(BODY).replace(b"application/json", b"text/plain")
        assert b"415" in (await conn.exchange(refused))[0]
        assert conn.served[len(cases) :] == ["app"]
    # HTTP/1.0 and `Connection: close` end the connection: each on one of its own.
    for request in (post(version=b"1.0"), post(BODY, b"connection: close")):
        async with connected(database_url) as conn:
            await conn.exchange(post())
            answered = await conn.exchange(request)
            assert b"200" in answered[0]
            assert conn.served == ["handler", "app"]
            assert conn.transport.closed


async def test_a_body_in_pieces_and_pipelined_requests_are_answered_in_order(
    database_url: str,
) -> None:
    async with connected(database_url) as conn:
        first = await conn.exchange(post())
        request = post()
        written = len(conn.transport.written)
        # The head, then the body in two reads: answered once the body is in.
        conn.protocol.data_received(request[: -len(BODY)])
        conn.protocol.data_received(BODY[:10])
        await asyncio.sleep(0.05)
        assert len(conn.transport.written) == written  # nothing new yet
        conn.protocol.data_received(BODY[10:])
        assert (await conn.responses(1))[0][2] == first[2]
        # Three in one read: remembered, not remembered, remembered. The second goes to the
        # handler; the third waits behind it, as uvicorn queues any request behind an answer,
        # and then reaches the app.
        other = orjson.dumps({"query": "{ categories { slug } }"})
        conn.protocol.data_received(post() + post(other) + post())
        answers = await conn.responses(3)
        assert [a[2] for a in answers] == [first[2], answers[1][2], first[2]]
        assert orjson.loads(answers[1][2])["data"]["categories"][0].keys() == {"slug"}
        assert conn.served == ["handler", "handler", "app"]


async def test_a_held_request_is_answered_through_a_shutdown(database_url: str) -> None:
    async with connected(database_url) as conn:
        first = await conn.exchange(post())
        request = post()
        conn.protocol.data_received(request[: -len(BODY)])  # held: its body is not in yet
        conn.protocol.shutdown()
        assert not conn.transport.closed
        conn.protocol.data_received(BODY)
        answered = (await conn.responses(1))[0]
        assert answered[2] == first[2]
        assert answered[1][b"connection"] == b"close"
        assert conn.served == ["handler", "app"]
        for _ in range(100):
            if conn.transport.closed:
                break
            await asyncio.sleep(0.01)
        assert conn.transport.closed


async def test_without_the_response_cache_every_request_reaches_the_app(
    database_url: str,
) -> None:
    async with connected(database_url, response_cache=False) as conn:
        for _ in range(3):
            assert b"200" in (await conn.exchange(post()))[0]
        assert conn.served == ["app"] * 3


async def test_a_held_body_past_what_could_be_remembered_goes_to_the_app(
    database_url: str,
) -> None:
    async with connected(database_url) as conn:
        await conn.exchange(post())
        request = post()
        conn.protocol.data_received(request[: -len(BODY)])  # held: its body is not in yet
        # More body than its Content-Length said, as a lenient parser might hand over: held no
        # longer, the app's task starts with what arrived.
        conn.protocol.on_body(b" " * 9000)
        assert conn.served == ["handler"]
        await asyncio.sleep(0.05)
        assert conn.served == ["handler", "app"]
        conn.protocol.on_message_complete()
        answered = (await conn.responses(1))[0]
        assert answered[0].startswith(b"HTTP/1.1 400")


async def test_a_body_the_cache_does_not_remember_is_read_once(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    original = express_lane._body

    async def counting(receive: Any, length: int) -> Any:
        reads.append(length)
        return await original(receive, length)

    monkeypatch.setattr(express_lane, "_body", counting)
    other = orjson.dumps({"query": "{ categories { slug } }"})
    async with connected(database_url) as conn:
        # Held, found not remembered: the app's express lane steps aside, and the handler takes
        # the body the connection read.
        answered = await conn.exchange(post(other))
        assert orjson.loads(answered[2])["data"]["categories"][0].keys() == {"slug"}
        assert reads == []
        # Not held (HTTP/1.0): the express lane reads it as before.
        answered = await conn.exchange(post(other, version=b"1.0"))
        assert b"200" in answered[0]
        assert reads == [len(other)]


async def test_a_fault_in_the_connections_cache_step_leaves_the_request_to_the_app(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any) -> None:
        raise RuntimeError("the cache step broke")

    async with connected(database_url) as conn:
        first = await conn.exchange(post())
        monkeypatch.setattr("api.connection_lane.answer_at_once", broken)
        answered = await conn.exchange(post())
        assert answered[0] == first[0]
        assert answered[2] == first[2]
        assert conn.served == ["handler", "app"]


async def test_an_expect_continue_is_answered_at_once_and_the_response_in_one_write(
    database_url: str,
) -> None:
    async with connected(database_url) as conn:
        request = post(BODY, b"expect: 100-continue")
        conn.protocol.data_received(request[: -len(BODY)])
        # The app reads the body: uvicorn's interim answer goes out before it arrives.
        for _ in range(100):
            if conn.transport.written:
                break
            await asyncio.sleep(0.01)
        assert conn.transport.written == [b"HTTP/1.1 100 Continue\r\n\r\n"]
        conn.read = len(conn.transport.written[0])
        conn.protocol.data_received(BODY)
        status, _, body = (await conn.responses(1))[0]
        assert status == b"HTTP/1.1 200 OK"
        assert orjson.loads(body)["data"]["categories"]
        assert len(conn.transport.written) == 2  # the head with its body
        assert conn.served == ["app"]


async def test_a_head_request_gets_its_head_though_no_body_follows(database_url: str) -> None:
    async with connected(database_url) as conn:
        conn.protocol.data_received(b"HEAD /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        for _ in range(200):
            if b"\r\n\r\n" in b"".join(conn.transport.written):
                break
            await asyncio.sleep(0.01)
        written = b"".join(conn.transport.written)
        assert written.startswith(b"HTTP/1.1 200 OK\r\n")
        assert written.endswith(b"\r\n\r\n")  # the head alone, no body
        assert not conn.transport.closed


async def test_a_not_modified_answer_gets_its_head_though_its_body_is_empty(
    database_url: str,
) -> None:
    async with connected(database_url) as conn:
        target = b"/graphql?query=%7B%20categories%20%7B%20slug%20%7D%20%7D"
        get = b"GET " + target + b" HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        status, headers, _ = await conn.exchange(get + b"\r\n")
        assert status == b"HTTP/1.1 200 OK"
        etag = headers[b"etag"]
        written = len(conn.transport.written)
        conn.protocol.data_received(get + b"if-none-match: " + etag + b"\r\n\r\n")
        for _ in range(200):
            if len(conn.transport.written) > written:
                break
            await asyncio.sleep(0.01)
        answer = b"".join(conn.transport.written[written:])
        assert answer.startswith(b"HTTP/1.1 304 Not Modified\r\n")
        assert answer.endswith(b"\r\n\r\n")
