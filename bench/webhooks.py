"""What webhooks cost: publishJob with and without its outbox event, and deliveries per second.

    .venv/bin/python -m bench.webhooks [--publishes 300] [--rounds 4] [--deliveries 4000]

On a migrated, seeded database of its own on BENCH_SERVER_URL (default 127.0.0.1:5432), dropped
afterwards.

1. publishJob through the app in this process (one client, one request at a time), in
   alternating rounds: "before" runs the job's statement as it was without the outbox (the
   same statement minus its event CTE), "after" as it is. Also the statement alone, through
   asyncpg, alternating likewise. Medians in milliseconds.
2. Deliveries: `--deliveries` events fanned out to 8 endpoints (8 keys, one endpoint each),
   delivered by one dispatcher in this process to a receiver in another process that answers
   204 at once. Deliveries per second of wall time, and per second of this process's CPU
   (PostgreSQL's and the receiver's CPU are not in it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import asyncpg

import db.idempotency
from app.webhooks import Dispatcher
from bench.database import create_seeded, drop
from domain.api_keys import check_scopes, generate_key, hash_key
from domain.webhooks import generate_secret
from tests.support import running_app, test_settings, with_database
from tests.support.jobs import PUBLISH, publish_input

SERVER_URL = os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AFTER = db.idempotency.INSERT_OWNED_JOB
BEFORE = AFTER[: AFTER.index(", webhook_event AS")] + AFTER[AFTER.index("\nSELECT") :]
RECEIVER = """
import asyncio, sys
from tests.support.webhook_receiver import Receiver
async def main():
    async with Receiver().running() as r:
        print(r.port, flush=True)
        await asyncio.Event().wait()
asyncio.run(main())
"""
ENDPOINTS = 8


async def publish_rounds(url: str, key: str, publishes: int, rounds: int) -> dict[str, float]:
    timings: dict[str, list[float]] = {"before": [], "after": []}
    headers = {"Authorization": f"Bearer {key}"}
    async with running_app(url, migrate_on_start=False, seed_on_start=False) as api:
        for _ in range(20):  # warm-up: plans compiled, caches filled
            await api.graphql(PUBLISH, publish_input(), headers=headers)
        for _ in range(rounds):
            for name, statement in (("before", BEFORE), ("after", AFTER)):
                db.idempotency.INSERT_OWNED_JOB = statement
                for _ in range(publishes):
                    start = time.perf_counter()
                    body = await api.graphql(PUBLISH, publish_input(), headers=headers)
                    timings[name].append(time.perf_counter() - start)
                    assert "errors" not in body, body
        db.idempotency.INSERT_OWNED_JOB = AFTER
    return {name: statistics.median(values) * 1000 for name, values in timings.items()}


async def statement_rounds(url: str, publishes: int, rounds: int) -> dict[str, float]:
    timings: dict[str, list[float]] = {"before": [], "after": []}
    conn = await asyncpg.connect(url)
    try:
        args: list[Any] = ["wall-painting", None, "{}", None, None, None]
        args += ["SW1A 1AA", "SW1A", "SW", None, None, None, None, None, None]
        for _ in range(rounds):
            for name, statement in (("before", BEFORE), ("after", AFTER)):
                for _ in range(publishes):
                    start = time.perf_counter()
                    await conn.fetchrow(statement, *args)
                    timings[name].append(time.perf_counter() - start)
    finally:
        await conn.close()
    return {name: statistics.median(values) * 1000 for name, values in timings.items()}


async def deliveries(url: str, count: int) -> tuple[float, float]:
    # Started once, before anything is timed.
    command = [sys.executable, "-c", RECEIVER]
    receiver = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: ASYNC220
    pool = await asyncpg.create_pool(url, min_size=2, max_size=10)
    try:
        assert receiver.stdout is not None
        port = int(receiver.stdout.readline())
        keys = []
        for i in range(ENDPOINTS):
            key_id = await pool.fetchval(
                "INSERT INTO api_keys (name, key_sha256, scopes) VALUES ($1, $2, $3) RETURNING id",
                f"bench {i}",
                hash_key(generate_key()),
                list(check_scopes(["jobs:write"])),
            )
            await pool.execute(
                "INSERT INTO webhook_endpoints (api_key_id, url, events, secret)"
                " VALUES ($1, $2, '{job.published}', $3)",
                key_id,
                f"http://127.0.0.1:{port}/hook",
                generate_secret(),
            )
            keys.append(key_id)
        await pool.execute("UPDATE webhook_events SET fanned_out_at = now()")
        await pool.execute(
            "INSERT INTO webhook_events (type, api_key_id, job_id, micro_id, data)"
            " SELECT 'job.published', ($1::uuid[])[1 + i % $3], j.id, 'wall-painting',"
            "        jsonb_build_object('jobId', j.id)"
            "   FROM generate_series(1, $2) AS i,"
            "        LATERAL (SELECT id FROM jobs ORDER BY id OFFSET i % 50 LIMIT 1) AS j",
            keys,
            count,
            ENDPOINTS,
        )
        settings = test_settings(
            webhook_allow_insecure_urls=True,
            webhook_concurrency=32,
            webhook_endpoint_concurrency=4,
            webhook_poll_seconds=0.01,
        )
        dispatcher = Dispatcher(settings, pool)
        cpu, wall = time.process_time(), time.perf_counter()
        dispatcher.start()
        while (  # noqa: ASYNC110 (the condition is in the database)
            await pool.fetchval(
                "SELECT count(*) FROM webhook_deliveries WHERE status = 'DELIVERED'"
            )
            < count
        ):
            await asyncio.sleep(0.05)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        await dispatcher.close()
        return count / wall, count / cpu
    finally:
        await pool.close()
        receiver.kill()
        receiver.wait()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--publishes", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--deliveries", type=int, default=4000)
    args = parser.parse_args()
    name, _slugs, key = await create_seeded(SERVER_URL, 0)
    url = with_database(SERVER_URL, name)
    try:
        http = await publish_rounds(url, key, args.publishes, args.rounds)
        sql = await statement_rounds(url, args.publishes, args.rounds)
        print(
            f"publishJob, median ms: before {http['before']:.3f}, after {http['after']:.3f}"
            f" (+{http['after'] - http['before']:.3f})"
        )
        print(
            f"its statement, median ms: before {sql['before']:.3f}, after {sql['after']:.3f}"
            f" (+{sql['after'] - sql['before']:.3f})"
        )
        rate, per_cpu = await deliveries(url, args.deliveries)
        print(f"deliveries: {rate:.0f}/s wall, {per_cpu:.0f} per CPU-second of the dispatcher")
    finally:
        await drop(SERVER_URL, [name])


if __name__ == "__main__":
    asyncio.run(main())
