"""The rollups as the event writer feeds them and as upkeep compacts them: every figure the same
as the raw rows give."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from db import analytics
from tests.support.events import insert_event_rows, lookup_event

RAW_PER_MINUTE = """
SELECT date_bin('1 minute', created_at, 'epoch') AS m, count(*) AS total,
       count(*) FILTER (WHERE (event_properties ->> 'cache_hit')::boolean) AS hits,
       count(*) FILTER (WHERE (event_properties ->> 'success')::boolean) AS ok,
       count(*) FILTER (WHERE (event_properties ->> 'fallback_used')::boolean) AS fallbacks,
       count(event_properties ->> 'lookup_time_ms') AS timed,
       coalesce(sum((event_properties ->> 'lookup_time_ms')::float8), 0) AS ms
  FROM analytics_events GROUP BY 1 ORDER BY 1
"""
ROLLED_UP_PER_MINUTE = """
SELECT bucket_start AS m, sum(total) AS total, sum(cache_hits) AS hits, sum(successes) AS ok,
       sum(fallbacks) AS fallbacks, sum(latency_count) AS timed, sum(latency_sum) AS ms
  FROM uuid_lookup_minutes GROUP BY 1 ORDER BY 1
"""


async def test_the_writers_batches_roll_up_as_the_rows_they_store(
    conn: asyncpg.Connection,
) -> None:
    """The batches view rolls its writes up from the batches, not the rows: both must agree,
    whatever mix of hits, answers, fallbacks and missing latencies a batch has."""
    rng = random.Random(6)
    now = datetime.now(UTC).timestamp()
    for write in range(6):
        batches: list[list[Any]] = []
        for _ in range(40):
            size = rng.randint(1, 30)
            batches.append(
                [
                    now - rng.uniform(0, 600),
                    rng.choice([None, 0.01, rng.uniform(0, 1)]),
                    rng.choice([None, rng.uniform(0.5, 80)]),
                    rng.choice([None, "TimeoutError"]),
                    rng.random() < 0.5,
                    [f"s{i}" for i in range(size)],
                    [None] * size,
                    [rng.random() < 0.6 for _ in range(size)],
                    [rng.random() < 0.8 for _ in range(size)],
                ]
            )
        if write % 2:  # the writer's own layout, with the slots counted
            batches = [[*b, sum(b[7]), sum(b[8])] for b in batches]
        await analytics.write_lookup_batches(conn, json.dumps(batches))
    raw = [dict(r) for r in await conn.fetch(RAW_PER_MINUTE)]
    rolled = [dict(r) for r in await conn.fetch(ROLLED_UP_PER_MINUTE)]
    assert [r["m"] for r in rolled] == [r["m"] for r in raw]
    for mine, theirs in zip(rolled, raw, strict=True):
        for key in ("total", "hits", "ok", "fallbacks", "timed"):
            assert mine[key] == theirs[key], (key, mine, theirs)
        assert mine["ms"] == pytest.approx(theirs["ms"], rel=1e-9)


async def test_compaction_folds_each_minute_into_one_row_and_changes_no_figure(
    conn: asyncpg.Connection,
) -> None:
    now = datetime.now(UTC)
    for i in range(30):  # thirty writes over the last three minutes
        await insert_event_rows(
            conn, [("uuid_lookup", lookup_event(1.0 + i), now - timedelta(seconds=6 * i))]
        )
    before = await analytics.fetch_lookup_stats(conn, window=timedelta(minutes=10))
    timeline_before = await analytics.fetch_lookup_timeline(
        conn, window=timedelta(minutes=10), bucket=timedelta(minutes=1)
    )
    upkeep = await analytics.maintain_events(
        conn, days_ahead=1, event_retention_days=7, rollup_retention_days=400
    )
    assert upkeep.rollups_folded > 0
    per_minute = await conn.fetchval(
        "SELECT max(n) FROM (SELECT count(*) AS n FROM uuid_lookup_minutes GROUP BY bucket_start)"
        " AS c"
    )
    assert per_minute == 1
    assert await analytics.fetch_lookup_stats(conn, window=timedelta(minutes=10)) == before
    timeline_after = await analytics.fetch_lookup_timeline(
        conn, window=timedelta(minutes=10), bucket=timedelta(minutes=1)
    )
    # (non-empty buckets only: a minute may have begun between the two reads)
    assert [b for b in timeline_after if b.stats.total] == [
        b for b in timeline_before if b.stats.total
    ]
