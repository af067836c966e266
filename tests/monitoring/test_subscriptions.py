"""Subscriptions end to end: the app served by uvicorn, a real WebSocket client speaking
graphql-transport-ws, and alert management over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from db.api_keys import revoke_api_key
from tests.api.ws_support import tracebacks
from tests.support.events import insert_events
from tests.support.keys import IssuedKey, issue_api_key
from tests.support.live_server import live_server

PROTOCOL = "graphql-transport-ws"
STATS = "subscription($w: Int!) { lookupStatsUpdated(windowMinutes: $w) { windowMinutes total } }"
ALERTS = "subscription { alertsChanged { name acknowledged silenced silencedUntil } }"
NO_EVENTS = {"lookup_events": False, "cache_warm_up": False}
FAST = {"live_interval_seconds": 0.2, **NO_EVENTS}


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/graphql"


@asynccontextmanager
async def graphql_ws(
    base: str, payload: dict[str, Any] | None = None, **options: Any
) -> AsyncIterator[ClientConnection]:
    """A connection that has been through connection_init / connection_ack."""
    async with connect(ws_url(base), subprotocols=[PROTOCOL], **options) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert ack["type"] == "connection_ack", ack
        yield ws


async def subscribe(
    ws: ClientConnection, query: str, variables: dict[str, Any] | None = None, op: str = "1"
) -> None:
    await ws.send(
        json.dumps(
            {"id": op, "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )
    )


async def receive(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(5):
        message: dict[str, Any] = json.loads(await ws.recv())
    return message


async def ops_key(url: str, *scopes: str) -> IssuedKey:
    conn = await asyncpg.connect(url)
    try:
        return await issue_api_key(conn, name="on call", scopes=scopes)
    finally:
        await conn.close()


def bearer(key: IssuedKey) -> dict[str, Any]:
    return {"Authorization": f"Bearer {key.key}"}


async def test_every_subscriber_gets_fresh_stats_every_interval(migrated_url: str) -> None:
    await insert_events(migrated_url, [5.0, 7.0, 9.0])
    reader = bearer(await ops_key(migrated_url, "ops:read"))
    async with (
        live_server(migrated_url, **FAST) as base,
        graphql_ws(base, reader) as first,
        graphql_ws(base, reader) as second,
        graphql_ws(base, reader) as third,
    ):
        for ws in (first, second, third):
            await subscribe(ws, STATS, {"w": 60})
        for ws in (first, second, third):
            for _ in range(3):  # the figures now, then one push per interval
                message = await receive(ws)
                assert message["type"] == "next", message
                stats = message["payload"]["data"]["lookupStatsUpdated"]
                assert stats == {"windowMinutes": 60, "total": 3}
        await insert_events(migrated_url, [11.0])
        for _ in range(20):
            message = await receive(first)
            if message["payload"]["data"]["lookupStatsUpdated"]["total"] == 4:
                break
        else:
            pytest.fail("the new event never reached the subscriber")


async def test_a_window_out_of_bounds_is_bad_user_input(migrated_url: str) -> None:
    reader = bearer(await ops_key(migrated_url, "ops:read"))
    async with live_server(migrated_url, **FAST) as base, graphql_ws(base, reader) as ws:
        await subscribe(ws, STATS, {"w": 0})
        message = await receive(ws)
        assert message["type"] in ("error", "next"), message
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert "windowMinutes" in errors[0]["message"]
        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_origins_are_checked_against_cors_origins(migrated_url: str) -> None:
    async with live_server(migrated_url, cors_origins=("https://ops.example",), **FAST) as base:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(
                ws_url(base),
                subprotocols=[PROTOCOL],  # type: ignore[list-item]
                origin="https://evil.example",  # type: ignore[arg-type]
            ):
                pass
        assert refused.value.response.status_code == 403
        # Listed, same-origin and non-browser (no Origin) clients are served.
        for origin in ("https://ops.example", base, None):
            async with graphql_ws(base, origin=origin) as ws:
                await subscribe(ws, STATS, {"w": 5})
                # Served: refused for want of a key (an `error`), not for its origin.
                assert (await receive(ws))["type"] == "error"


async def test_the_api_key_travels_in_connection_init(migrated_url: str) -> None:
    key = await ops_key(migrated_url, "ops:write")
    async with live_server(migrated_url, **FAST) as base:
        async with graphql_ws(base, {"Authorization": f"Bearer {key.key}"}) as ws:
            await subscribe(ws, STATS, {"w": 5})
            # Accepted as the key it is: refused the field for its scope, not the socket.
            message = await receive(ws)
            assert message["type"] == "error", message
            assert message["payload"][0]["extensions"]["code"] == "FORBIDDEN"
        async with connect(ws_url(base), subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
            await ws.send(
                json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}})
            )
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4403


async def test_alerts_are_pushed_stored_and_managed(migrated_url: str) -> None:
    key = await ops_key(migrated_url, "ops:read", "ops:write")
    reader = await ops_key(migrated_url, "jobs:read")
    async with (
        live_server(migrated_url, alert_slow_lookup_ms=50.0, **FAST) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as http,
        graphql_ws(base, bearer(key)) as ws,
    ):

        async def gql(query: str, variables: dict[str, Any], key: IssuedKey | None = None) -> Any:
            response = await http.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers=key.headers if key else {},
            )
            return response.json()

        async def next_alerts() -> list[dict[str, Any]]:
            message = await receive(ws)
            assert message["type"] == "next", message
            alerts: list[dict[str, Any]] = message["payload"]["data"]["alertsChanged"]
            return alerts

        await subscribe(ws, ALERTS)
        assert await next_alerts() == []  # the state now, first
        await insert_events(migrated_url, [80.0] * 10)  # 80 ms average: slow_lookups fires
        assert [a["name"] for a in await next_alerts()] == ["slow_lookups"]

        acknowledge = (
            "mutation($n: String!, $note: String!) "
            "{ acknowledgeAlert(name: $n, note: $note) { name coversFiring } }"
        )
        unauthorised = await gql(acknowledge, {"n": "slow_lookups", "note": "x"}, reader)
        assert unauthorised["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        anonymous = await gql(acknowledge, {"n": "slow_lookups", "note": "x"})
        assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        unknown = await gql(acknowledge, {"n": "no_such_alert", "note": ""}, key)
        assert unknown["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        done = await gql(acknowledge, {"n": "slow_lookups", "note": "on it"}, key)
        assert done["data"]["acknowledgeAlert"] == {"name": "slow_lookups", "coversFiring": True}
        (alert,) = await next_alerts()
        assert alert["acknowledged"] is True
        assert alert["silenced"] is False

        silence = (
            "mutation($n: String!, $until: DateTime!) "
            "{ silenceAlert(name: $n, until: $until) { name until } }"
        )
        too_far = (datetime.now(UTC) + timedelta(days=31)).isoformat()
        refused = await gql(silence, {"n": "slow_lookups", "until": too_far}, key)
        assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        silenced = await gql(silence, {"n": "slow_lookups", "until": until}, key)
        assert silenced["data"]["silenceAlert"]["name"] == "slow_lookups"
        (alert,) = await next_alerts()
        assert alert["silenced"] is True  # still shown, marked

        # The history: the firing, with its value and threshold; paged.
        history = await gql(
            "query($first: Int!, $after: String) { alertHistory(first: $first, after: $after) "
            "{ events { name state value threshold } endCursor hasNextPage } }",
            {"first": 1, "after": None},
            key,
        )
        page = history["data"]["alertHistory"]
        assert page["events"] == [
            {"name": "slow_lookups", "state": "FIRING", "value": 80.0, "threshold": 50.0}
        ]
        assert page["hasNextPage"] is False
        bad_cursor = await gql(
            "query($a: String) { alertHistory(after: $a) { hasNextPage } }", {"a": "bogus"}, key
        )
        assert bad_cursor["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_socket_with_a_subscription_outlives_the_idle_timeout(migrated_url: str) -> None:
    reader = bearer(await ops_key(migrated_url, "ops:read"))
    async with (
        live_server(migrated_url, **{**FAST, "ws_idle_timeout_seconds": 0.5}) as base,
        graphql_ws(base, reader) as ws,
    ):
        await subscribe(ws, STATS, {"w": 60})
        started = asyncio.get_running_loop().time()
        while asyncio.get_running_loop().time() - started < 1.5:
            message = await receive(ws)
            assert message["type"] == "next", message


@pytest.mark.parametrize(
    "message",
    [
        {"id": "1", "type": "subscribe", "payload": "subscription { alertsChanged { name } }"},
        {"id": "1", "type": "subscribe", "payload": ["x"]},
        {"id": "1", "type": "subscribe", "payload": {"query": 7}},
        {"id": "1", "type": "subscribe", "payload": {"query": ALERTS, "variables": "x"}},
        {"id": ["1"], "type": "subscribe", "payload": {"query": ALERTS}},
        {"id": 1, "type": "complete"},
        {"type": 3},
        {"type": "x" * 300},  # quoted in the close reason, which a close frame must still hold
        ["subscribe"],
        "subscribe",
    ],
)
async def test_a_malformed_message_closes_with_4400_and_no_traceback(
    migrated_url: str, message: Any
) -> None:
    # uvicorn configures its loggers as it starts (dropping their handlers): catch after that.
    async with live_server(migrated_url, **FAST) as base:
        with tracebacks() as logged:
            async with graphql_ws(base) as ws:
                await ws.send(json.dumps(message))
                with pytest.raises(ConnectionClosed) as closed:
                    await receive(ws)
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 4400
            async with httpx.AsyncClient() as client:
                assert (await client.get(f"{base}/health", timeout=5)).status_code == 200
    assert logged == []


async def test_a_revoked_keys_sockets_close_with_4403_in_every_instance(migrated_url: str) -> None:
    # Two instances on one database stand for two workers: each hears the revocation notice.
    key = await ops_key(migrated_url, "ops:read")
    async with (
        live_server(migrated_url, **FAST) as one,
        live_server(migrated_url, **FAST) as two,
        graphql_ws(one, bearer(key)) as first,
        graphql_ws(two, bearer(key)) as second,
    ):
        for ws in (first, second):
            await subscribe(ws, STATS, {"w": 60})
            assert (await receive(ws))["type"] == "next"
        conn = await asyncpg.connect(migrated_url)
        try:
            await revoke_api_key(conn, key_id=key.id)
        finally:
            await conn.close()
        for ws in (first, second):
            with pytest.raises(ConnectionClosed) as closed:
                await _drain_within(ws, 1.0)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4403


async def _drain_within(ws: ClientConnection, seconds: float) -> None:
    """Read (pushes may still arrive before a close) until the socket closes or time is up."""
    async with asyncio.timeout(seconds):
        while True:
            await ws.recv()


async def test_a_refused_subscription_says_where_and_the_first_push_is_fresh(
    migrated_url: str,
) -> None:
    await insert_events(migrated_url, [5.0])
    reader = bearer(await ops_key(migrated_url, "ops:read"))
    async with live_server(migrated_url, live_interval_seconds=60, **NO_EVENTS) as base:
        async with graphql_ws(base) as anonymous:
            await subscribe(anonymous, STATS, {"w": 60})
            # The protocol's `error` message: the operation is over, no `complete` follows.
            message = await receive(anonymous)
            assert message["type"] == "error", message
            errors = message["payload"]
            assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
            assert errors[0]["path"] == ["lookupStatsUpdated"]
        async with graphql_ws(base, reader) as first, graphql_ws(base, reader) as second:
            await subscribe(first, STATS, {"w": 60})
            assert (await receive(first))["payload"]["data"]["lookupStatsUpdated"]["total"] == 1
            await insert_events(migrated_url, [6.0])
            # A new subscriber is not handed the last figures of the interval, but figures
            # computed for it; the others are not pushed the same figures again.
            await subscribe(second, STATS, {"w": 60})
            assert (await receive(second))["payload"]["data"]["lookupStatsUpdated"]["total"] == 2
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.3):
                    await first.recv()
