"""Suggestions from real jobs in PostgreSQL: the related-services and popularity rollups
(migration 010), the functions that refresh them, and the reads that answer requests from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from uuid import UUID

import asyncpg

from db.pool import Connection
from domain.suggestions import MAX_DAYS

Executor = asyncpg.Pool | Connection

# The rollup postcode area that counts every job, located or not.
EVERYWHERE = "*"

REFRESH_SERVICE_PAIRS = """
SELECT refresh_service_pairs(make_interval(days => $1), $2, make_interval(days => $3))
"""
REFRESH_SERVICE_POPULARITY = "SELECT refresh_service_popularity($1::date)"
# Services posted by the same customers, best lift first; the remaining places go to the
# other active services of the same subcategory, in wizard order. One service appears once,
# under its best reason.
RELATED_SERVICES = """
WITH target AS (
    SELECT id, category, subcategory FROM micro_services WHERE id = $1
), candidates AS (
    SELECT p.related_uuid AS id, 0 AS source,
           row_number() OVER (ORDER BY p.lift DESC, p.support DESC, p.related_uuid) AS rank,
           p.support, p.lift
      FROM service_pairs AS p
      JOIN micro_services AS m ON m.id = p.related_uuid AND m.active
     WHERE p.micro_uuid = $1
    UNION ALL
    SELECT m.id, 1, row_number() OVER (ORDER BY m.position, m.slug), NULL, NULL
      FROM target AS t
      JOIN micro_services AS m
        ON m.category = t.category AND m.subcategory = t.subcategory
       AND m.active AND m.id <> t.id
), best AS (
    SELECT DISTINCT ON (id) id, source, rank, support, lift
      FROM candidates ORDER BY id, source, rank
)
SELECT b.id, m.slug, b.source, b.support, b.lift
  FROM best AS b JOIN micro_services AS m ON m.id = b.id
 ORDER BY b.source, b.rank
 LIMIT $2
"""
# The last `$2` UTC days, today included, from the daily rollup: never from jobs.
POPULAR_SERVICES = """
SELECT d.micro_uuid AS id, m.slug, sum(d.jobs)::integer AS jobs
  FROM service_popularity_daily AS d
  JOIN micro_services AS m ON m.id = d.micro_uuid AND m.active
 WHERE d.postcode_area = $1
   AND d.day > (now() AT TIME ZONE 'UTC')::date - $2::integer
 GROUP BY d.micro_uuid, m.slug
 ORDER BY jobs DESC, m.slug
 LIMIT $3
"""
LAST_POPULARITY_REFRESH = """
SELECT (refreshed_at AT TIME ZONE 'UTC')::date FROM suggestion_refreshes
 WHERE rollup = 'service_popularity_daily'
"""
# A first (or a full) recount covers the longest window popularServices may ask for.
FULL_DAYS = MAX_DAYS


@dataclass(frozen=True, slots=True)
class RelatedService:
    id: UUID
    slug: str
    source: Literal["jobs", "subcategory"]
    support: int | None  # customers who posted both (None for a subcategory fallback)
    lift: float | None


@dataclass(frozen=True, slots=True)
class PopularService:
    id: UUID
    slug: str
    jobs: int


@dataclass(frozen=True, slots=True)
class RefreshCounts:
    pairs: int
    popularity_rows: int


async def refresh_suggestions(
    conn: Connection,
    *,
    window_days: int = 180,
    min_support: int = 3,
    lookback_days: int = 365,
    popularity_from: date | None = None,
) -> RefreshCounts:
    """Rebuild the related-services pairs and recount popularity from `popularity_from` on
    (by default: from the day before the last recount, or a full year the first time), in one
    transaction: a reader sees the old rollups or the new ones, never half of each."""
    async with conn.transaction():
        if popularity_from is None:
            last = await conn.fetchval(LAST_POPULARITY_REFRESH)
            popularity_from = (
                last - timedelta(days=1) if last is not None else last_days_start(FULL_DAYS)
            )
        pairs = await conn.fetchval(REFRESH_SERVICE_PAIRS, window_days, min_support, lookback_days)
        rows = await conn.fetchval(REFRESH_SERVICE_POPULARITY, popularity_from)
    return RefreshCounts(pairs=int(pairs), popularity_rows=int(rows))


async def fetch_related_services(
    db: Executor, *, micro_uuid: UUID, first: int
) -> list[RelatedService]:
    rows = await db.fetch(RELATED_SERVICES, micro_uuid, first)
    return [
        RelatedService(
            id=row["id"],
            slug=row["slug"],
            source="jobs" if row["source"] == 0 else "subcategory",
            support=row["support"],
            lift=row["lift"],
        )
        for row in rows
    ]


async def fetch_popular_services(
    db: Executor, *, postcode_area: str | None, days: int, first: int
) -> list[PopularService]:
    area = EVERYWHERE if postcode_area is None else postcode_area
    rows = await db.fetch(POPULAR_SERVICES, area, days, first)
    return [PopularService(id=row["id"], slug=row["slug"], jobs=row["jobs"]) for row in rows]


def last_days_start(days: int) -> date:
    """The first UTC day of the last `days` days, today included."""
    return datetime.now(UTC).date() - timedelta(days=days - 1)
