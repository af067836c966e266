"""The business view's counters (migration 015) and the figures read from the jobs and
webhook tables: their SQL as named constants, and the functions that run it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from db.pool import Connection

Executor = asyncpg.Pool | Connection

# One statement for a worker's whole buffer: rows that meet an existing hour are added to it.
ADD_BUSINESS_COUNTS = """
INSERT INTO business_counters AS c (hour, kind, label, count)
SELECT date_trunc('hour', now()), kind, label, n
  FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t (kind, label, n)
ON CONFLICT (kind, hour, label) DO UPDATE SET count = c.count + excluded.count
"""
DELETE_OLD_BUSINESS_COUNTS = """
DELETE FROM business_counters WHERE hour < date_trunc('hour', now()) - make_interval(days => $1)
"""
SELECT_BUSINESS_TOTALS = """
SELECT kind, sum(count)::bigint AS total
  FROM business_counters
 WHERE hour >= date_trunc('hour', $1::timestamptz)
   AND kind IN ('publish_rejected', 'search_no_match')
 GROUP BY kind
"""
SELECT_BUSINESS_TOP = """
SELECT label, sum(count)::bigint AS total
  FROM business_counters
 WHERE kind = $1 AND hour >= date_trunc('hour', $2::timestamptz)
 GROUP BY label
 ORDER BY total DESC, label
 LIMIT $3
"""
# Published by creation; cancelled, closed and expired by when the job left PUBLISHED. Two
# scans, each over its own index, rather than one OR that would read the whole table.
SELECT_JOB_COUNTS = """
SELECT (SELECT count(*) FROM jobs WHERE created_at >= $1) AS published,
       count(*) FILTER (WHERE status = 'CANCELLED') AS cancelled,
       count(*) FILTER (WHERE status = 'CLOSED') AS closed,
       count(*) FILTER (WHERE status = 'EXPIRED') AS expired
  FROM jobs
 WHERE ended_at >= $1
"""
# Pending: to enabled endpoints, as the backlog metric counts them; failed: given up lately.
SELECT_WEBHOOK_FIGURES = """
SELECT (SELECT count(*) FROM webhook_deliveries d
          JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.enabled
         WHERE d.status = 'PENDING') AS pending,
       (SELECT extract(epoch FROM now() - min(d.created_at))::float8 FROM webhook_deliveries d
          JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.enabled
         WHERE d.status = 'PENDING') AS oldest_pending_seconds,
       (SELECT count(*) FROM webhook_deliveries
         WHERE status = 'FAILED' AND finished_at >= $1) AS failed
"""


@dataclass(frozen=True, slots=True)
class LabelCount:
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class JobCounts:
    published: int
    cancelled: int
    closed: int
    expired: int


@dataclass(frozen=True, slots=True)
class WebhookFigures:
    pending: int
    failed: int
    oldest_pending_seconds: float | None


async def add_counts(db: Executor, counts: Mapping[tuple[str, str], int]) -> None:
    """Add (kind, label) -> n to this hour's counters."""
    if not counts:
        return
    keys = list(counts)
    await db.execute(
        ADD_BUSINESS_COUNTS,
        [kind for kind, _ in keys],
        [label for _, label in keys],
        [counts[key] for key in keys],
    )


async def delete_old_counts(db: Executor, *, days: int) -> None:
    await db.execute(DELETE_OLD_BUSINESS_COUNTS, days)


async def fetch_totals(db: Executor, *, since: datetime) -> dict[str, int]:
    rows = await db.fetch(SELECT_BUSINESS_TOTALS, since)
    return {row["kind"]: row["total"] for row in rows}


async def fetch_top(db: Executor, *, kind: str, since: datetime, limit: int) -> list[LabelCount]:
    rows = await db.fetch(SELECT_BUSINESS_TOP, kind, since, limit)
    return [LabelCount(row["label"], row["total"]) for row in rows]


async def fetch_job_counts(db: Executor, *, since: datetime) -> JobCounts:
    row = await db.fetchrow(SELECT_JOB_COUNTS, since)
    assert row is not None  # an aggregate always answers one row
    return JobCounts(row["published"], row["cancelled"], row["closed"], row["expired"])


async def fetch_webhook_figures(db: Executor, *, since: datetime) -> WebhookFigures:
    row = await db.fetchrow(SELECT_WEBHOOK_FIGURES, since)
    assert row is not None
    return WebhookFigures(row["pending"], row["failed"], row["oldest_pending_seconds"])
