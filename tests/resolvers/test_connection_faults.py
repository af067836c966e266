"""Database connections cut in the middle of operations, under concurrent load: every answer is
data or a retryable SERVICE_UNAVAILABLE, never INTERNAL_SERVER_ERROR, and a connection left
mid-operation is discarded rather than handed to the next request."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter

import asyncpg
import pytest

from db.pool import create_pool
from tests.support import error_codes, running_app
from tests.support.jobs import PUBLISH, READ_JOB, publish_input
from tests.support.keys import issue_api_key
from tests.support.proxy import proxy_to

# The fault schedule and the clients' choices are drawn from this seed: a failure replays.
SEED = 20_21
CUTS = 60  # cuts at random moments; the clients keep going until the last one


async def test_a_connection_left_mid_operation_is_discarded(database_url: str) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            slow = asyncio.ensure_future(conn.fetchval("SELECT pg_sleep(0.3)"))
            await asyncio.sleep(0.05)
            with pytest.raises(asyncpg.InterfaceError, match="another operation is in progress"):
                await conn.fetchval("SELECT 1")
            # Unusable now: closed (the statement still running on it is aborted), so that the
            # pool opens a fresh one for the next borrower.
            with pytest.raises((asyncpg.InterfaceError, asyncpg.PostgresConnectionError)):
                await slow
        assert await pool.fetchval("SELECT 1") == 1
    finally:
        pool.terminate()


async def test_cutting_connections_under_load_never_gives_internal_server_error(
    database_url: str,
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        key = await issue_api_key(conn, name="fault partner", scopes=["jobs:write", "jobs:read"])
    finally:
        await conn.close()
    codes: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    stop = asyncio.Event()
    rng = random.Random(SEED)
    cuts = 0
    async with (
        proxy_to(database_url) as proxy,
        running_app(
            proxy.url_for(database_url),
            migrate_on_start=False,
            seed_on_start=False,
            cache_warm_up=False,
            lookup_events=False,
            db_pool_max=4,
            retry_budget_ms=50,
            breaker_fail_max=10_000,  # keep every request reaching the database
            rate_limits=False,
        ) as api,
    ):

        async def client(number: int) -> None:
            published: list[str] = []
            while not stop.is_set():
                choice = rng.random()
                if choice < 0.5:
                    body = {"query": PUBLISH, "variables": publish_input(uuid.uuid4().hex)}
                elif choice < 0.7 and published:
                    body = {"query": READ_JOB, "variables": {"id": rng.choice(published)}}
                else:
                    slugs = [f"no-such-{number}-{rng.random()}", "wall-painting"]
                    body = {
                        "query": "query ($s: [String!]!) { microServices(slugs: $s) { id } }",
                        "variables": {"s": slugs},
                    }
                response = await api.client.post("/graphql", json=body, headers=key.headers)
                statuses[response.status_code] += 1
                answer = response.json()
                codes.update(error_codes(answer))
                job = ((answer.get("data") or {}).get("publishJob") or {}).get("job")
                if job:
                    published.append(job["id"])

        async def cutter() -> None:
            nonlocal cuts
            while cuts < CUTS:
                await asyncio.sleep(rng.uniform(0.02, 0.15))  # the faults' timing is the subject
                proxy.cut()
                cuts += 1
            stop.set()

        tasks = [asyncio.create_task(client(n)) for n in range(12)]
        tasks.append(asyncio.create_task(cutter()))
        await asyncio.gather(*tasks)
    assert cuts == CUTS
    assert sum(statuses.values()) > 100
    assert set(statuses) <= {200}, statuses
    assert "INTERNAL_SERVER_ERROR" not in codes, codes
    assert codes["SERVICE_UNAVAILABLE"] > 0, codes  # the cuts did hit requests
