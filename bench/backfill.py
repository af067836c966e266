"""Backfill benchmark: 1,000,000 slug-only jobs (5 % with slugs that match nothing) get their
micro_uuid, through the same `run_backfill` loop as `python server.py backfill`.

    .venv/bin/python -m bench.backfill [--jobs 1000000] [--batch-size 50000]

Runs in a temporary database of its own on BENCH_SERVER_URL (default the local server at
127.0.0.1:5432), dropped afterwards. Bounded: the backfill is abandoned after --timeout seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import asyncpg

from config.database import DEFAULT_CATALOGUE_PATH
from db.analytics import BackfillBatch, fetch_migration_stats
from db.migrate import apply_migrations
from db.seed import seed_catalogue
from domain.catalogue import load_catalogue
from ops.backfill import run_backfill
from tests.support import create_database, drop_database, with_database

SERVER_URL = os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# Jobs in insertion order pick catalogue slugs round-robin; every 20th has a slug no micro
# service has (50 distinct ones), as old data with typos and long-gone services would.
INSERT_JOBS = """
INSERT INTO jobs (micro_id, answers, created_at)
SELECT CASE WHEN g % 20 = 0 THEN 'retired-service-' || (g % 50)
            ELSE s.slugs[1 + g % array_length(s.slugs, 1)] END,
       '{}'::jsonb,
       now() - make_interval(secs => $1 - g)
  FROM generate_series(1, $1) AS g,
       (SELECT array_agg(slug ORDER BY slug) AS slugs FROM micro_services) AS s
"""


async def main(jobs: int, batch_size: int, limit: float) -> None:
    name = await create_database(SERVER_URL, prefix="jw_bench_backfill")
    try:
        conn = await asyncpg.connect(with_database(SERVER_URL, name))
        try:
            await apply_migrations(conn)
            await seed_catalogue(conn, load_catalogue(DEFAULT_CATALOGUE_PATH))
            started = time.perf_counter()
            await conn.execute(INSERT_JOBS, jobs)
            await conn.execute("VACUUM ANALYZE jobs")  # an old table: settled and analysed
            print(f"{jobs:,} slug-only jobs loaded in {time.perf_counter() - started:.1f} s")
            before = await fetch_migration_stats(conn)
            batches = 0

            def tick(batch: BackfillBatch) -> None:
                nonlocal batches
                batches += 1
                if batches % 20 == 0:
                    print(f"  {batch.remaining:,} left after {batches} batches", flush=True)

            started = time.perf_counter()
            outcome = await asyncio.wait_for(
                run_backfill(conn, batch_size=batch_size, on_batch=tick), limit
            )
            seconds = time.perf_counter() - started
            after = await fetch_migration_stats(conn)
        finally:
            await conn.close()
    finally:
        await drop_database(SERVER_URL, name)
    print(
        f"before: {before.without_uuid:,} without UUID, {before.unmatched:,} unmatched\n"
        f"after:  {after.with_uuid:,} with UUID, {after.unmatched:,} unmatched, "
        f"{after.completion_percent:.2f} % complete"
    )
    print(
        f"backfilled {outcome.migrated:,} rows in {seconds:.1f} s with batch size "
        f"{batch_size:,} ({outcome.batches} batches): {outcome.migrated / seconds:,.0f} rows/s"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=50_000)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds, then give up")
    args = parser.parse_args()
    asyncio.run(main(args.jobs, args.batch_size, args.timeout))
