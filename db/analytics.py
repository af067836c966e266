"""Lookup analytics, alert history and the UUID backfill: their SQL as named constants, and the
functions that run it. The heavy lifting is in SQL functions (migrations 002, 003 and 007);
these call them."""

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

# --- raw events upkeep ------------------------------------------------------------------------
# Partitions ahead, old raw events dropped a day at a time, old rollups deleted (migration 007).
MAINTAIN_ANALYTICS_EVENTS = (
    "SELECT partitions_created, partitions_dropped, rollups_deleted, rollups_folded "
    "FROM maintain_analytics_events($1, $2, $3)"
)

# --- alert history --------------------------------------------------------------------------
RECORD_ALERT_EVALUATION = (
    "SELECT id, name, state, severity, message, value, threshold, created_at "
    "FROM record_alert_evaluation($1::text[], $2::boolean[], $3::text[], $4::text[], "
    "$5::float8[], $6::float8[])"
)
SELECT_ALERT_EVENTS = (
    "SELECT id, name, state, severity, message, value, threshold, created_at "
    "FROM alert_events WHERE id < $1 ORDER BY id DESC LIMIT $2"
)
SELECT_ALERT_OVERVIEW = (
    "SELECT name, firing, severity, message, value, threshold, since, acknowledged_at, "
    "acknowledgement_note, silenced_until FROM alert_overview ORDER BY name"
)
ACKNOWLEDGE_ALERT = (
    "SELECT id, name, event_id, note, created_at FROM acknowledge_alert($1, $2, $3::uuid)"
)
SILENCE_ALERT = "SELECT id, name, until, note, created_at FROM silence_alert($1, $2, $3, $4::uuid)"

# --- UUID backfill ----------------------------------------------------------------------------
MIGRATE_JOB_UUIDS = "SELECT migrated, remaining, unmatched FROM migrate_job_uuids($1)"
SELECT_UUID_MIGRATION_STATS = "SELECT * FROM get_uuid_migration_stats()"
SELECT_UNMATCHED_JOB_SLUGS = (
    "SELECT slug, job_count FROM unmatched_job_slugs ORDER BY job_count DESC, slug LIMIT $1"
)


async def create_events_pool(
    dsn: str,
    *,
    command_timeout: float = 10.0,
    connect_timeout: float = 5.0,
    statement_cache_size: int = 100,
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
        statement_cache_size=statement_cache_size,
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
class EventUpkeep:
    partitions_created: int
    partitions_dropped: int
    rollups_deleted: int
    rollups_folded: int


async def maintain_events(
    db: Executor, *, days_ahead: int, event_retention_days: int, rollup_retention_days: int
) -> EventUpkeep:
    """Create the day partitions ahead, drop those past `event_retention_days`, delete rollups
    past `rollup_retention_days` and fold recent ones (one row per minute and hour). Safe to
    run from every process: runs are serialised."""
    row = await db.fetchrow(
        MAINTAIN_ANALYTICS_EVENTS, days_ahead, event_retention_days, rollup_retention_days
    )
    assert row is not None  # the function returns exactly one row
    return EventUpkeep(
        row["partitions_created"],
        row["partitions_dropped"],
        row["rollups_deleted"],
        row["rollups_folded"],
    )


@dataclass(frozen=True, slots=True)
class AlertEventRow:
    id: int
    name: str
    state: str  # FIRING | RESOLVED
    severity: str
    message: str
    value: float | None
    threshold: float | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> AlertEventRow:
        return cls(
            id=row["id"],
            name=row["name"],
            state=row["state"],
            severity=row["severity"],
            message=row["message"],
            value=row["value"],
            threshold=row["threshold"],
            created_at=row["created_at"],
        )


@dataclass(frozen=True, slots=True)
class AlertEvaluation:
    """One rule's verdict, firing or not, with the value and threshold that decided it."""

    name: str
    firing: bool
    severity: str
    message: str
    value: float | None
    threshold: float | None


@dataclass(frozen=True, slots=True)
class AlertOverviewRow:
    name: str
    firing: bool
    severity: str
    message: str
    value: float | None
    threshold: float | None
    since: datetime
    acknowledged_at: datetime | None
    acknowledgement_note: str | None
    silenced_until: datetime | None


async def record_alert_evaluation(
    db: Executor, evaluations: list[AlertEvaluation]
) -> list[AlertEventRow]:
    """Store the transitions among `evaluations` (an alert that starts or stops firing) and
    return them; an unchanged alert stores nothing. Concurrent callers store each change once."""
    rows = await db.fetch(
        RECORD_ALERT_EVALUATION,
        [e.name for e in evaluations],
        [e.firing for e in evaluations],
        [e.severity for e in evaluations],
        [e.message for e in evaluations],
        [e.value for e in evaluations],
        [e.threshold for e in evaluations],
    )
    return [AlertEventRow.from_row(row) for row in rows]


async def fetch_alert_events(db: Executor, *, before_id: int, limit: int) -> list[AlertEventRow]:
    """Alert events newest first, those with an id below `before_id` (keyset paging)."""
    rows = await db.fetch(SELECT_ALERT_EVENTS, before_id, limit)
    return [AlertEventRow.from_row(row) for row in rows]


async def fetch_alert_overview(db: Executor) -> list[AlertOverviewRow]:
    rows = await db.fetch(SELECT_ALERT_OVERVIEW)
    return [AlertOverviewRow(**dict(row)) for row in rows]


async def acknowledge_alert(
    db: Executor, *, name: str, note: str, api_key_id: str | None
) -> int | None:
    """Acknowledge the current firing of `name`; the alert_events id it covers (None when the
    alert is not firing: the acknowledgement is then history only)."""
    row = await db.fetchrow(ACKNOWLEDGE_ALERT, name, note, api_key_id)
    assert row is not None
    event_id: int | None = row["event_id"]
    return event_id


async def silence_alert(
    db: Executor, *, name: str, until: datetime, note: str, api_key_id: str | None
) -> datetime:
    row = await db.fetchrow(SILENCE_ALERT, name, until, note, api_key_id)
    assert row is not None
    until_stored: datetime = row["until"]
    return until_stored


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
