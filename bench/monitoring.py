"""Monitoring at a day of heavy traffic: 10,000,000 `uuid_lookup` events spread over the last
24 h, then the monitoring fields timed through the app's GraphQL endpoint and checked against
the exact figures computed from the raw rows, and the rollup trigger's cost per event measured.

    .venv/bin/python -m bench.monitoring [--events 10000000] [--runs 30] [--writes 200]

Runs in a temporary database of its own on BENCH_SERVER_URL (default the local server at
127.0.0.1:5432), dropped afterwards. What it prints:
- each read (`lookupStats` over 60 and 1,440 minutes, `lookupTimeline` over 60 minutes in 60 s
  buckets and over 24 h in 1 h buckets, `alerts`): median and slowest of --runs calls through
  GraphQL (the app in process, HTTP included), and the SQL function alone; the goal is 50 ms;
- the stats against the raw rows, both read in one transaction (so at the same now()): totals
  (exact over whole minutes), rates (within 0.005) and p95 (within 5 % of percentile_cont);
- the rollups' cost per event: writes of 500 events through the event writer's path (COPY of
  one batches document into the view of migration 006) and as a COPY of rows, with the rollups
  and as before them (migration 006's batches function, no rollup trigger), in alternate
  blocks of --writes / 20 rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg

from db import analytics
from db.migrate import apply_migrations
from loaders.lookup import LookupBatch
from monitoring.events import batches_document
from tests.support import create_database, drop_database, running_app, with_database

SERVER_URL = os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
GOAL_MS = 50.0
ROOT = Path(__file__).resolve().parent.parent
ROLLUPS_MIGRATION = "007_lookup_rollups_partitions_alerts.sql"
BATCHES_MIGRATION = "006_lookup_event_batches.sql"
BLOCK, WARM_UP = 20, 8  # measured and unmeasured writes per block of the trigger's cost
CHUNK = 1_000_000  # events per INSERT: one trigger run each, a bounded transition table

# Events evenly spread over [start - 24 h, start): latencies log-normal (median ~2.7 ms, a long
# tail), 95 % succeed, 3 % fall back, 80 % cache hits. setseed() makes runs comparable.
INSERT_EVENTS = """
INSERT INTO analytics_events (event_name, event_properties, created_at)
SELECT 'uuid_lookup',
       jsonb_build_object(
           'slug', 'service-' || (g % 500),
           'uuid', NULL,
           'lookup_time_ms',
               round(exp(1.0 + 1.2 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))
                     ::numeric, 4),
           'cache_hit', random() < 0.8,
           'success', random() >= 0.05,
           'fallback_used', random() < 0.03,
           'error_kind', NULL),
       $3::timestamptz - interval '24 hours' + (g - 0.5) * (interval '24 hours' / $4::bigint)
  FROM generate_series($1::bigint, $2::bigint) AS g
"""
EXACT_STATS = """
SELECT count(*) AS total,
       avg((event_properties ->> 'lookup_time_ms')::float8) AS avg_latency_ms,
       percentile_cont(0.95) WITHIN GROUP (
           ORDER BY (event_properties ->> 'lookup_time_ms')::float8) AS p95_latency_ms,
       avg((event_properties ->> 'success')::boolean::int)::float8 AS success_rate,
       avg((event_properties ->> 'fallback_used')::boolean::int)::float8 AS fallback_rate,
       avg((event_properties ->> 'cache_hit')::boolean::int)::float8 AS cache_hit_rate
  FROM analytics_events
 WHERE event_name = 'uuid_lookup'
   AND created_at >= date_bin($1::interval, now() - $2::interval, 'epoch')
"""
EXACT_HOURLY_P95 = """
SELECT date_bin('1 hour', created_at, 'epoch') AS bucket_start, count(*) AS total,
       percentile_cont(0.95) WITHIN GROUP (
           ORDER BY (event_properties ->> 'lookup_time_ms')::float8) AS p95
  FROM analytics_events
 WHERE event_name = 'uuid_lookup'
   AND created_at >= date_bin('1 hour', now() - $1::interval, 'epoch')
 GROUP BY 1
"""
TABLE_BYTES = "SELECT pg_total_relation_size(c.oid) FROM pg_class AS c WHERE c.relname = $1"
PARTITIONS_BYTES = """
SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0)::bigint
  FROM pg_inherits AS i WHERE i.inhparent = 'analytics_events'::regclass
"""

STATS_QUERY = """query Stats($w: Int) { lookupStats(windowMinutes: $w) {
  total avgLatencyMs p95LatencyMs successRate fallbackRate cacheHitRate } }"""
TIMELINE_QUERY = """query Timeline($w: Int, $b: Int) {
  lookupTimeline(windowMinutes: $w, bucketSeconds: $b) { bucketStart total p95LatencyMs } }"""
ALERTS_QUERY = "query Alerts { alerts { name severity value threshold } }"

READS: list[tuple[str, str, dict[str, int], str, tuple[timedelta, ...]]] = [
    ("lookupStats 60 min", STATS_QUERY, {"w": 60}, "stats", (timedelta(minutes=60),)),
    ("lookupStats 1440 min", STATS_QUERY, {"w": 1440}, "stats", (timedelta(minutes=1440),)),
    (
        "lookupTimeline 60 min / 60 s",
        TIMELINE_QUERY,
        {"w": 60, "b": 60},
        "timeline",
        (timedelta(minutes=60), timedelta(seconds=60)),
    ),
    (
        "lookupTimeline 24 h / 1 h",
        TIMELINE_QUERY,
        {"w": 1440, "b": 3600},
        "timeline",
        (timedelta(hours=24), timedelta(hours=1)),
    ),
    ("alerts", ALERTS_QUERY, {}, "stats", (timedelta(minutes=5),)),
]


async def timed(runs: int, call: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """Median and slowest of `runs` calls, in ms, after three unmeasured ones."""
    for _ in range(3):
        await call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


async def load(conn: asyncpg.Connection, events: int) -> float:
    today = await conn.fetchval("SELECT (now() AT TIME ZONE 'UTC')::date")
    await conn.execute(
        "SELECT create_analytics_event_partitions($1::date - 2, $1::date + 1)", today
    )
    await conn.execute("SELECT setseed(0.17)")
    start = await conn.fetchval("SELECT now()")
    began = time.perf_counter()
    for first in range(1, events + 1, CHUNK):
        last = min(first + CHUNK - 1, events)
        await conn.execute(INSERT_EVENTS, first, last, start, events)
        print(f"  {last:,} events loaded ({time.perf_counter() - began:.0f} s)", flush=True)
    seconds = time.perf_counter() - began
    # What the event writer's periodic upkeep does: here, fold each chunk's rollup rows.
    await analytics.maintain_events(
        conn, days_ahead=1, event_retention_days=7, rollup_retention_days=400
    )
    await conn.execute("VACUUM ANALYZE analytics_events")
    await conn.execute("VACUUM ANALYZE uuid_lookup_minutes")
    await conn.execute("VACUUM ANALYZE uuid_lookup_hours")
    return seconds


async def time_reads(url: str, runs: int) -> list[tuple[str, float, float, float, float]]:
    results = []
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
    assert pool is not None
    try:
        async with running_app(url, lookup_events=False, migrate_on_start=False) as api:
            for label, query, variables, kind, args in READS:

                async def through_graphql(q: str = query, v: dict[str, int] = variables) -> None:
                    body = await api.graphql(q, v)
                    assert "errors" not in body, body

                async def sql_only(k: str = kind, a: tuple[timedelta, ...] = args) -> None:
                    if k == "stats":
                        await analytics.fetch_lookup_stats(pool, window=a[0])
                    else:
                        await analytics.fetch_lookup_timeline(pool, window=a[0], bucket=a[1])

                g_median, g_max = await timed(runs, through_graphql)
                s_median, s_max = await timed(runs, sql_only)
                results.append((label, g_median, g_max, s_median, s_max))
    finally:
        await pool.close()
    return results


async def check_accuracy(conn: asyncpg.Connection) -> bool:
    ok = True
    async with conn.transaction(isolation="repeatable_read"):  # one now() for both reads
        for minutes in (60, 1440):
            window = timedelta(minutes=minutes)
            got = await analytics.fetch_lookup_stats(conn, window=window)
            exact = await conn.fetchrow(EXACT_STATS, timedelta(minutes=1), window)
            assert exact is not None
            print(f"lookupStats {minutes} min, rollups vs raw rows:")
            print(f"  total           {got.total:>14,} {exact['total']:>14,}")
            ok &= bool(got.total == exact["total"])
            for field, tolerance in (
                ("success_rate", 0.005),
                ("fallback_rate", 0.005),
                ("cache_hit_rate", 0.005),
            ):
                mine, theirs = getattr(got, field), exact[field]
                print(f"  {field:<15} {mine:>14.6f} {theirs:>14.6f}")
                ok &= bool(abs(mine - theirs) <= tolerance)
            print(f"  avg_latency_ms  {got.avg_latency_ms:>14.6f} {exact['avg_latency_ms']:>14.6f}")
            p95, exact_p95 = got.p95_latency_ms, exact["p95_latency_ms"]
            error = abs(p95 - exact_p95) / exact_p95
            print(f"  p95_latency_ms  {p95:>14.6f} {exact_p95:>14.6f}  ({error:.2%} off)")
            ok &= bool(error <= 0.05)
        window = timedelta(hours=24)
        timeline = await analytics.fetch_lookup_timeline(
            conn, window=window, bucket=timedelta(hours=1)
        )
        exact_rows = {r["bucket_start"]: r for r in await conn.fetch(EXACT_HOURLY_P95, window)}
        worst = 0.0
        for bucket in timeline:
            row = exact_rows.get(bucket.bucket_start)
            exact_total = row["total"] if row else 0
            ok &= bool(bucket.stats.total == exact_total)
            if row and row["p95"]:
                assert bucket.stats.p95_latency_ms is not None
                worst = max(worst, abs(bucket.stats.p95_latency_ms - row["p95"]) / row["p95"])
        print(f"lookupTimeline 24 h / 1 h: totals exact per bucket; worst p95 error {worst:.2%}")
        ok &= worst <= 0.05
        by_minute = await analytics.fetch_lookup_timeline(
            conn, window=timedelta(minutes=60), bucket=timedelta(minutes=1)
        )
        exact = await conn.fetchrow(EXACT_STATS, timedelta(minutes=1), timedelta(minutes=60))
        assert exact is not None
        ok &= bool(sum(b.stats.total for b in by_minute) == exact["total"])
    return ok


def document(count: int) -> str:
    """One write of the event writer, encoded by the writer itself: 20-slug batches, a fifth of
    the slugs missing the cache."""
    now = time.time()
    batches = [
        (
            now,
            LookupBatch(
                slugs=[f"wall-painting-{j}" for j in range(20)],
                uuids=[None] * 20,
                cache_hits=[j % 5 != 0 for j in range(20)],
                answered=[True] * 20,
                cache_ms=0.02,
                elapsed_ms=3.5 + i % 7,
                error_kind=None,
                degraded=False,
            ),
        )
        for i in range(count // 20)
    ]
    return batches_document(batches)


def function_source(migration: str, name: str) -> str:
    """The CREATE [OR REPLACE] FUNCTION statement of `name` in a migration file, as one that
    replaces the function now defined."""
    text = (ROOT / "migrations" / migration).read_text(encoding="utf-8")
    start = text.index(f"FUNCTION {name}(")
    start = text.rindex("CREATE", 0, start)
    end = text.index("\n$$;", start) + 4
    return "CREATE OR REPLACE " + text[start:end].split(" ", 1)[1].removeprefix("OR REPLACE ")


async def trigger_cost(conn: asyncpg.Connection, writes: int) -> list[tuple[str, float, float]]:
    """µs per event of 500-event writes with the rollups and without them (as before migration
    007: its batches function and no rollup trigger), for the writer's path and for a COPY of
    rows into analytics_events. In blocks, alternating, each block after a few unmeasured
    writes: switching re-plans the functions' statements, which is not what is measured."""
    with_rollups = function_source(ROLLUPS_MIGRATION, "store_uuid_lookup_batches")
    without = function_source(BATCHES_MIGRATION, "store_uuid_lookup_batches")
    doc = document(500)
    rows = [("uuid_lookup", _row_properties(i), None) for i in range(500)]

    async def via_view() -> None:
        await analytics.write_lookup_batches(conn, doc)

    async def via_copy() -> None:
        await conn.copy_records_to_table(
            "analytics_events", records=rows, columns=("event_name", "event_properties")
        )

    results = []
    for label, write in (("writer (batches view)", via_view), ("COPY into the table", via_copy)):
        times: dict[bool, list[float]] = {True: [], False: []}
        blocks = max(2, writes // BLOCK)
        for block in range(blocks * 2):
            on = block % 2 == 0
            await conn.execute(with_rollups if on else without)
            await conn.execute(
                f"ALTER TABLE analytics_events {'ENABLE' if on else 'DISABLE'} "
                "TRIGGER roll_up_uuid_lookups"
            )
            for i in range(WARM_UP + BLOCK):
                started = time.perf_counter()
                await write()
                if i >= WARM_UP:
                    times[on].append((time.perf_counter() - started) * 1e6 / 500)
        await conn.execute(with_rollups)
        await conn.execute("ALTER TABLE analytics_events ENABLE TRIGGER roll_up_uuid_lookups")
        results.append((label, statistics.median(times[True]), statistics.median(times[False])))
    return results


def _row_properties(i: int) -> str:
    return json.dumps(
        {
            "slug": f"wall-painting-{i % 20}",
            "uuid": None,
            "lookup_time_ms": 0.02 if i % 5 else 3.5,
            "cache_hit": i % 5 != 0,
            "success": True,
            "fallback_used": False,
            "error_kind": None,
        }
    )


async def main(events: int, runs: int, writes: int) -> int:
    name = await create_database(SERVER_URL, prefix="jw_bench_monitoring")
    url = with_database(SERVER_URL, name)
    try:
        conn = await asyncpg.connect(url)
        try:
            await apply_migrations(conn)
            print(f"loading {events:,} uuid_lookup events over the last 24 h")
            seconds = await load(conn, events)
            print(f"loaded in {seconds:.1f} s ({events / seconds:,.0f} events/s, trigger on)")
            raw = await conn.fetchval(PARTITIONS_BYTES)
            minutes = await conn.fetchval(TABLE_BYTES, "uuid_lookup_minutes")
            hours = await conn.fetchval(TABLE_BYTES, "uuid_lookup_hours")
            rows = await conn.fetchval("SELECT count(*) FROM uuid_lookup_minutes")
            print(
                f"raw events {raw / 2**20:,.0f} MiB; rollups {rows:,} minute rows "
                f"{minutes / 2**20:,.1f} MiB + hour rows {hours / 2**20:,.2f} MiB"
            )
            accurate = await check_accuracy(conn)
        finally:
            await conn.close()

        results = await time_reads(url, runs)
        print(f"\n{'read':<30} {'GraphQL median/max ms':>22} {'SQL median/max ms':>20}")
        fast = True
        for label, g_median, g_max, s_median, s_max in results:
            print(f"{label:<30} {g_median:>12.1f} {g_max:>8.1f} {s_median:>12.1f} {s_max:>7.1f}")
            fast &= g_median < GOAL_MS

        conn = await asyncpg.connect(url)
        try:
            costs = await trigger_cost(conn, writes)
        finally:
            await conn.close()
        print(f"\nwrites of 500 events, median of {writes} each way, µs per event:")
        for label, on, off in costs:
            print(
                f"  {label:<22} {on:6.2f} with rollups, {off:6.2f} without: "
                f"+{on - off:.2f} µs (+{(on - off) / off:.1%})"
            )
    finally:
        await drop_database(SERVER_URL, name)
    print(
        f"\nreads under {GOAL_MS:g} ms: {'yes' if fast else 'NO'}; "
        f"figures within bounds: {'yes' if accurate else 'NO'}"
    )
    return 0 if fast and accurate else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--writes", type=int, default=200)
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.events, args.runs, args.writes)))
