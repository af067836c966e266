"""The lookup rollups, the day partitions of analytics_events and the migration that brings both
to an existing database: against a real PostgreSQL, each test in a database of its own."""

from __future__ import annotations

import json
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from db import analytics
from db.migrate import MIGRATIONS_DIR, apply_migrations
from tests.support.events import insert_event_rows, lookup_event

ROLLUPS_VERSION = 7

# The seed's "Key Metrics Dashboard" query, as the seed wrote it: it must keep running over
# the raw events.
SEED_DASHBOARD_SQL = """
SELECT COUNT(*) AS total_lookups,
       AVG((event_properties->>'lookup_time_ms')::float) AS avg_lookup_time_ms,
       SUM(CASE WHEN (event_properties->>'cache_hit')::boolean THEN 1 ELSE 0 END)::float
           / NULLIF(COUNT(*), 0) AS cache_hit_rate,
       SUM(CASE WHEN (event_properties->>'fallback_used')::boolean THEN 1 ELSE 0 END)::float
           / NULLIF(COUNT(*), 0) AS fallback_rate
  FROM analytics_events
 WHERE event_name = 'uuid_lookup'
   AND created_at > NOW() - INTERVAL '1 day'
"""

EXACT_STATS = """
SELECT count(*) AS total,
       percentile_cont(0.95) WITHIN GROUP (
           ORDER BY (event_properties ->> 'lookup_time_ms')::float8) AS p95,
       avg((event_properties ->> 'lookup_time_ms')::float8) AS avg,
       avg((event_properties ->> 'success')::boolean::int) AS success_rate
  FROM analytics_events
 WHERE event_name = 'uuid_lookup'
   AND created_at >= date_bin('1 minute', now() - $1::interval, 'epoch')
"""


async def _row(conn: asyncpg.Connection, sql: str, *args: object) -> asyncpg.Record:
    row = await conn.fetchrow(sql, *args)
    assert row is not None
    return row


async def test_migrating_a_table_with_events_keeps_every_event_and_rolls_them_up(
    empty_database_url: str, tmp_path: Path
) -> None:
    # The schema as it stood before partitioning, with events in it: recent, days old, a year
    # old, of other names, and with properties the stats cannot read.
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if int(path.name[:3]) < ROLLUPS_VERSION:
            shutil.copy(path, tmp_path / path.name)
    conn = await asyncpg.connect(empty_database_url)
    try:
        await apply_migrations(conn, tmp_path)
        now = datetime.now(UTC)
        rows = [
            (
                "uuid_lookup",
                lookup_event(float(i % 50) + 0.5, success=i % 4 != 0),
                now - timedelta(minutes=i),
            )
            for i in range(300)
        ]
        rows += [
            ("uuid_lookup", lookup_event(3.0), now - timedelta(days=3)),
            ("uuid_lookup", lookup_event(4.0), now - timedelta(days=365)),
            ("page_view", '{"path": "/"}', now),
            # (older than the seed's dashboard window, whose casts would fail on it)
            ("uuid_lookup", '{"lookup_time_ms": "soon"}', now - timedelta(days=2)),
        ]
        await insert_event_rows(conn, rows)
        before = await conn.fetch(
            "SELECT id, event_name, event_properties::text, created_at FROM analytics_events "
            "ORDER BY id"
        )

        applied = await apply_migrations(conn)

        assert applied[0].version == ROLLUPS_VERSION
        after = await conn.fetch(
            "SELECT id, event_name, event_properties::text, created_at FROM analytics_events "
            "ORDER BY id"
        )
        assert [tuple(r) for r in after] == [tuple(r) for r in before]
        assert (
            await conn.fetchval(
                "SELECT relkind::text FROM pg_class WHERE relname = 'analytics_events'"
            )
            == "p"
        )
        # Every uuid_lookup event was rolled up by the move, in minutes and in hours.
        lookups = sum(1 for r in rows if r[0] == "uuid_lookup")
        assert await conn.fetchval("SELECT sum(total) FROM uuid_lookup_minutes") == lookups
        assert await conn.fetchval("SELECT sum(total) FROM uuid_lookup_hours") == lookups
        # New events continue the ids, and the writer's path (COPY into the view) still works.
        await insert_event_rows(conn, [("uuid_lookup", lookup_event(1.0), now)])
        new_id = await conn.fetchval("SELECT max(id) FROM analytics_events")
        assert new_id == before[-1]["id"] + 1
        document = json.dumps(
            [
                [
                    now.timestamp(),
                    0.1,
                    2.0,
                    None,
                    False,
                    ["a", "b"],
                    ["u1", "u2"],
                    [True, False],
                    [True, True],
                ]
            ]
        )
        await analytics.write_lookup_batches(conn, document)
        assert await conn.fetchval("SELECT sum(total) FROM uuid_lookup_minutes") == lookups + 3
        assert (await _row(conn, SEED_DASHBOARD_SQL))["total_lookups"] > 0
    finally:
        await conn.close()


async def test_every_writer_path_is_rolled_up_once(conn: asyncpg.Connection) -> None:
    now = datetime.now(UTC)
    # A multi-row INSERT, single-row INSERTs, a COPY into the table, and the writer's COPY
    # into the batches view.
    await insert_event_rows(conn, [("uuid_lookup", lookup_event(5.0, hit=True), now)] * 3)
    await conn.execute(
        "INSERT INTO analytics_events (event_name, event_properties) "
        "VALUES ('uuid_lookup', $1::jsonb), ('uuid_lookup', $1::jsonb)",
        lookup_event(7.0, fallback=True, success=False),
    )
    await conn.copy_records_to_table(
        "analytics_events",
        records=[("uuid_lookup", lookup_event(9.0), now)] * 4,
        columns=("event_name", "event_properties", "created_at"),
    )
    document = json.dumps(
        [
            [
                now.timestamp(),
                0.1,
                2.0,
                "TimeoutError",
                True,
                ["a", "b", "c"],
                [None, None, None],
                [True, False, False],
                [True, False, True],
            ]
        ]
    )
    await analytics.write_lookup_batches(conn, document)

    row = await _row(
        conn,
        "SELECT sum(total) AS total, sum(cache_hits) AS hits, sum(successes) AS ok, "
        "sum(fallbacks) AS fallbacks, sum(latency_count) AS timed, sum(latency_sum) AS ms "
        "FROM uuid_lookup_minutes",
    )
    assert dict(row) == {
        "total": 12,
        "hits": 4,
        "ok": 9,
        "fallbacks": 3,
        "timed": 12,
        "ms": 3 * 5.0 + 2 * 7.0 + 4 * 9.0 + 0.1 + 2 * 2.0,
    }
    exact = await conn.fetchval(
        "SELECT count(*) FROM analytics_events WHERE event_name = 'uuid_lookup'"
    )
    assert exact == 12
    stats = await analytics.fetch_lookup_stats(conn, window=timedelta(minutes=5))
    assert stats.total == 12
    assert stats.success_rate == pytest.approx(9 / 12)
    assert stats.fallback_rate == pytest.approx(3 / 12)
    assert stats.cache_hit_rate == pytest.approx(4 / 12)


async def test_odd_properties_from_other_writers_are_stored_and_never_fail_theinsert_event_rows(
    conn: asyncpg.Connection,
) -> None:
    await conn.execute(
        "INSERT INTO analytics_events (event_name, event_properties) VALUES "
        """('uuid_lookup', '{"lookup_time_ms": "fast", "success": "yes"}'), """
        """('uuid_lookup', '{}'), ('uuid_lookup', '{"lookup_time_ms": -1, "success": true}')"""
    )
    stats = await analytics.fetch_lookup_stats(conn, window=timedelta(minutes=5))
    assert stats.total == 3
    assert stats.avg_latency_ms == -1.0  # the only numeric latency
    assert stats.success_rate == pytest.approx(1 / 3)
    timeline = await analytics.fetch_lookup_timeline(
        conn, window=timedelta(minutes=5), bucket=timedelta(seconds=10)
    )
    assert sum(b.stats.total for b in timeline) == 3


async def test_stats_from_rollups_match_the_raw_rows(conn: asyncpg.Connection) -> None:
    rng = random.Random(17)
    now = datetime.now(UTC)
    rows = []
    for _ in range(20_000):
        # Long-tailed latencies over the last three hours, as real lookups have.
        ms = rng.lognormvariate(1.0, 1.2)
        age = timedelta(seconds=rng.uniform(0, 2.9 * 3600))  # in the 3 h timelines below
        rows.append(("uuid_lookup", lookup_event(ms, success=rng.random() > 0.07), now - age))
    await conn.copy_records_to_table(
        "analytics_events", records=rows, columns=("event_name", "event_properties", "created_at")
    )
    async with conn.transaction():  # one now() for both reads
        for minutes in (1, 7, 60, 61, 179, 240):
            window = timedelta(minutes=minutes)
            got = await analytics.fetch_lookup_stats(conn, window=window)
            exact = await _row(conn, EXACT_STATS, window)
            assert got.total == exact["total"], minutes
            if exact["total"]:
                assert got.avg_latency_ms == pytest.approx(exact["avg"], rel=1e-9)
                assert got.success_rate == pytest.approx(float(exact["success_rate"]), abs=1e-9)
                assert got.p95_latency_ms == pytest.approx(exact["p95"], rel=0.05), minutes

    hourly = await analytics.fetch_lookup_timeline(
        conn, window=timedelta(hours=3), bucket=timedelta(hours=1)
    )
    by_minute = await analytics.fetch_lookup_timeline(
        conn, window=timedelta(hours=3), bucket=timedelta(minutes=1)
    )
    ten_minutes = await analytics.fetch_lookup_timeline(
        conn, window=timedelta(hours=3), bucket=timedelta(minutes=10)
    )
    raw = await analytics.fetch_lookup_timeline(
        conn, window=timedelta(hours=3), bucket=timedelta(seconds=30)
    )
    for timeline in (hourly, by_minute, ten_minutes, raw):
        assert sum(b.stats.total for b in timeline) == len(rows)
        starts = [b.bucket_start for b in timeline]
        assert starts == sorted(starts)
    for bucket in hourly:
        exact_p95 = await conn.fetchval(
            "SELECT percentile_cont(0.95) WITHIN GROUP ("
            "ORDER BY (event_properties ->> 'lookup_time_ms')::float8) FROM analytics_events "
            "WHERE created_at >= $1 AND created_at < $1 + interval '1 hour'",
            bucket.bucket_start,
        )
        if exact_p95 is not None:
            assert bucket.stats.p95_latency_ms == pytest.approx(exact_p95, rel=0.05)


async def test_partitions_are_created_ahead_and_dropped_a_day_at_a_time(
    conn: asyncpg.Connection,
) -> None:
    partitions = """
        SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'analytics_events'::regclass ORDER BY c.relname
    """
    today = datetime.now(UTC).date()

    def name(day: int) -> str:
        return f"analytics_events_{(today + timedelta(days=day)):%Y%m%d}"

    # Events ten days old land in the default partition until their day's partition exists.
    old = datetime.now(UTC) - timedelta(days=10)
    await insert_event_rows(conn, [("uuid_lookup", lookup_event(1.0), old)] * 2)
    assert await conn.fetchval("SELECT count(*) FROM analytics_events_default") == 2
    created = await conn.fetchval("SELECT create_analytics_event_partitions($1, $1)", old.date())
    assert created == 1
    assert await conn.fetchval("SELECT count(*) FROM analytics_events_default") == 0
    assert await conn.fetchval(f"SELECT count(*) FROM {name(-10)}") == 2
    assert await conn.fetchval("SELECT sum(total) FROM uuid_lookup_minutes") == 2

    upkeep = await analytics.maintain_events(
        conn, days_ahead=5, event_retention_days=7, rollup_retention_days=400
    )
    names = {r["relname"] for r in await conn.fetch(partitions)}
    assert {name(d) for d in range(0, 6)} <= names
    assert name(-10) not in names
    assert upkeep.partitions_dropped == 1
    # The rollups outlive the raw events.
    assert await conn.fetchval("SELECT sum(total) FROM uuid_lookup_minutes") == 2
    again = await analytics.maintain_events(
        conn, days_ahead=5, event_retention_days=7, rollup_retention_days=5
    )
    assert (again.partitions_created, again.partitions_dropped) == (0, 0)
    assert again.rollups_deleted == 4  # each write's minute row and hour row
    assert (await _row(conn, SEED_DASHBOARD_SQL))["total_lookups"] == 0


async def test_maintenance_refuses_senseless_retention(conn: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.InvalidParameterValueError):
        await analytics.maintain_events(
            conn, days_ahead=3, event_retention_days=0, rollup_retention_days=400
        )
