"""Lookup analytics and the UUID backfill: their SQL as named constants, and the functions that
run it. The heavy lifting is in SQL functions (migrations 002 and 003); these call them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from db.pool import Connection, DiscardingConnection, keep_session

Executor = asyncpg.Pool | Connection


# --- lookup events ----------------------------------------------------------------------------
# The event writer COPYs one row per write into this view: a JSON document of the write's lookup
# batches (migration 006 gives its layout), which the view's trigger stores as one
# analytics_events row per slug.
LOOKUP_BATCHES_VIEW = "uuid_lookup_batches"
LOOKUP_BATCHES_COLUMNS = ("batches",)

# --- lookup stats -----------------------------------------------------------------------------
SELECT_UUID_LOOKUP_STATS = "SELECT * FROM get_uuid_lookup_stats($1::interval)"
SELECT_UUID_LOOKUP_TIMELINE = "SELECT * FROM get_uuid_lookup_timeline($1::interval, $2::interval)"

# --- UUID backfill ----------------------------------------------------------------------------
MIGRATE_JOB_UUIDS = "SELECT migrated, remaining, unmatched FROM migrate_job_uuids($1)"
SELECT_UUID_MIGRATION_STATS = "SELECT * FROM get_uuid_migration_stats()"
SELECT_UNMATCHED_JOB_SLUGS = (
    "SELECT slug, job_count FROM unmatched_job_slugs ORDER BY job_count DESC, slug LIMIT $1"
)


async def create_events_pool(
    dsn: str, *, command_timeout: float = 10.0, connect_timeout: float = 5.0
) -> asyncpg.Pool:
    """A one-connection pool of its own for the event writer. Its own, so that writing events
    never takes a connection a request is waiting for; plain asyncpg codecs, because COPY is
    binary and the application pool's jsonb codec is text-only. min_size=0: it connects on first
    use and reconnects by itself after an outage."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=0,
        max_size=1,
        command_timeout=command_timeout,
        timeout=connect_timeout,
        # The writer leaves no session state behind (one COPY, no SET, no transaction left
        # open): asyncpg's default reset would only add a round trip to every write.
        reset=keep_session,
        connection_class=DiscardingConnection,
    )
    assert pool is not None  # create_pool returns None only when awaited without a loop
    return pool


async def write_lookup_batches(conn: Connection, batches: str) -> None:
    """Store the events of `batches` (the JSON document migration 006 describes) in
    analytics_events with one COPY: one statement, so they are all stored or none is."""
    await conn.copy_records_to_table(
        LOOKUP_BATCHES_VIEW, records=[(batches,)], columns=LOOKUP_BATCHES_COLUMNS
    )


@dataclass(frozen=True, slots=True)
class LookupStatsRow:
    total: int
    avg_latency_ms: float | None
    p95_latency_ms: float | None
    success_rate: float | None
    fallback_rate: float | None
    cache_hit_rate: float | None

    @classmethod
    def from_row(cls, row: Any) -> LookupStatsRow:
        return cls(
            total=row["total"],
            avg_latency_ms=row["avg_latency_ms"],
            p95_latency_ms=row["p95_latency_ms"],
            success_rate=row["success_rate"],
            fallback_rate=row["fallback_rate"],
            cache_hit_rate=row["cache_hit_rate"],
        )


@dataclass(frozen=True, slots=True)
class LookupStatsBucketRow:
    bucket_start: datetime
    stats: LookupStatsRow


async def fetch_lookup_stats(db: Executor, *, window: timedelta) -> LookupStatsRow:
    row = await db.fetchrow(SELECT_UUID_LOOKUP_STATS, window)
    assert row is not None  # an aggregate without GROUP BY always yields one row
    return LookupStatsRow.from_row(row)


async def fetch_lookup_timeline(
    db: Executor, *, window: timedelta, bucket: timedelta
) -> list[LookupStatsBucketRow]:
    rows = await db.fetch(SELECT_UUID_LOOKUP_TIMELINE, window, bucket)
    return [LookupStatsBucketRow(row["bucket_start"], LookupStatsRow.from_row(row)) for row in rows]


@dataclass(frozen=True, slots=True)
class BackfillBatch:
    migrated: int
    remaining: int
    unmatched: int


@dataclass(frozen=True, slots=True)
class MigrationStats:
    total_jobs: int
    with_uuid: int
    without_uuid: int
    unmatched: int
    completion_percent: float


async def migrate_job_uuids(conn: Connection, *, batch_size: int) -> BackfillBatch:
    """One backfill batch, committed on its own (the caller must not hold a transaction open
    across batches, or the row locks would add up)."""
    row = await conn.fetchrow(MIGRATE_JOB_UUIDS, batch_size)
    assert row is not None
    return BackfillBatch(row["migrated"], row["remaining"], row["unmatched"])


async def fetch_migration_stats(db: Executor) -> MigrationStats:
    row = await db.fetchrow(SELECT_UUID_MIGRATION_STATS)
    assert row is not None
    return MigrationStats(
        total_jobs=row["total_jobs"],
        with_uuid=row["with_uuid"],
        without_uuid=row["without_uuid"],
        unmatched=row["unmatched"],
        completion_percent=row["completion_percent"],
    )


async def fetch_unmatched_slugs(db: Executor, *, limit: int) -> list[tuple[str, int]]:
    rows = await db.fetch(SELECT_UNMATCHED_JOB_SLUGS, limit)
    return [(row["slug"], row["job_count"]) for row in rows]
