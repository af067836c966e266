"""The webhook dispatcher as a process part: loopback refused when the connection is made, and a
delivery in flight when the server is killed is delivered after a restart, same webhook-id."""

from __future__ import annotations

import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx

from app.webhooks import Dispatcher
from domain.webhooks import generate_secret
from tests.support import running_app
from tests.support.jobs import publish_input
from tests.support.keys import IssuedKey
from tests.support.polling import eventually
from tests.support.processes import serving
from tests.support.webhook_receiver import Answer, Received, Receiver

MakeKey = Callable[..., Awaitable[IssuedKey]]
PUBLISH = "mutation($input: PublishJobInput!) { publishJob(input: $input) { job { id } } }"
INSERT_ENDPOINT = """
INSERT INTO webhook_endpoints (api_key_id, url, events, secret)
VALUES ($1, $2, '{job.published}', $3) RETURNING id
"""
FAST: dict[str, str] = {
    "LOG_LEVEL": "warning",
    "WORKERS": "1",
    "SEARCH_SEMANTIC": "false",
    "MIGRATE_ON_START": "false",
    "SEED_ON_START": "false",
    "WEBHOOK_ALLOW_INSECURE_URLS": "true",
    "WEBHOOK_RETRY_SCHEDULE": "10ms,10ms,10ms",
    "WEBHOOK_POLL_SECONDS": "0.05",
    "WEBHOOK_TIMEOUT_SECONDS": "1",  # a lease of 3 s
}


async def _status(pool: asyncpg.Pool, endpoint_id: object) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await pool.fetchrow(
        "SELECT status, attempts, last_error FROM webhook_deliveries WHERE endpoint_id = $1",
        endpoint_id,
    )
    return row


async def test_a_host_that_resolves_to_loopback_is_refused_when_connecting(
    database_url: str, make_api_key: MakeKey
) -> None:
    key = await make_api_key("jobs:write", "webhooks:write")
    async with Receiver().running() as receiver, running_app(database_url) as api:
        pool = api.app_state.pool
        # Saved while it was allowed (or while the name pointed elsewhere): refused now.
        url = f"http://localhost:{receiver.port}/hook"
        endpoint_id = await pool.fetchval(INSERT_ENDPOINT, key.id, url, generate_secret())
        try:
            body = await api.graphql(PUBLISH, publish_input(), headers=key.headers)
            assert "errors" not in body, body
            dispatcher = Dispatcher(api.app_state.settings.replace(webhook_concurrency=1), pool)
            try:
                await eventually(dispatcher.step, what="a delivery claimed")
                await eventually(
                    lambda: _refused(pool, endpoint_id), what="the attempt recorded as refused"
                )
            finally:
                await dispatcher.close()
            assert receiver.received == []
        finally:
            await pool.execute("DELETE FROM webhook_endpoints WHERE id = $1", endpoint_id)


async def _refused(pool: asyncpg.Pool, endpoint_id: object) -> bool:
    row = await _status(pool, endpoint_id)
    return row is not None and "non-public address" in (row["last_error"] or "")


async def test_a_delivery_in_flight_when_the_server_is_killed_is_delivered_after_a_restart(
    database_url: str, make_api_key: MakeKey, tmp_path: Path
) -> None:
    key = await make_api_key("jobs:write", "webhooks:write")

    def hold_the_first(request: Received) -> Answer:
        return Answer(204, hold=receiver.release if request.attempt == 1 else None)

    receiver = Receiver(hold_the_first)
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        async with receiver.running():
            endpoint_id = await pool.fetchval(
                INSERT_ENDPOINT, key.id, receiver.url(), generate_secret()
            )
            with serving(database_url, tmp_path / "first.log", timeout=30, **FAST) as server:
                async with httpx.AsyncClient(base_url=server.url) as client:
                    sent = await client.post(
                        "/graphql",
                        json={"query": PUBLISH, "variables": publish_input()},
                        headers=key.headers,
                    )
                assert "errors" not in sent.json(), sent.text
                await eventually(lambda: len(receiver.received) == 1, what="first attempt")
                os.killpg(server.process.pid, signal.SIGKILL)
                server.process.wait()
            held = await _status(pool, endpoint_id)
            assert held is not None
            assert held["status"] == "PENDING"
            with serving(database_url, tmp_path / "second.log", timeout=30, **FAST):
                await eventually(lambda: len(receiver.received) == 2, timeout=15, what="the retry")
                await eventually(
                    lambda: _delivered(pool, endpoint_id), what="recorded as delivered"
                )
            first, second = receiver.received
            assert first.msg_id == second.msg_id
            assert second.attempt == 2
    finally:
        await pool.execute("DELETE FROM webhook_endpoints WHERE api_key_id = $1", key.id)
        await pool.close()


async def _delivered(pool: asyncpg.Pool, endpoint_id: object) -> bool:
    row = await _status(pool, endpoint_id)
    return row is not None and row["status"] == "DELIVERED"
