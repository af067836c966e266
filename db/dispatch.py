"""The dispatcher's SQL: events fanned out to deliveries, due deliveries claimed under a lease,
outcomes recorded, the backlog measured, finished rows deleted after their retention.

Claims take rows `FOR UPDATE SKIP LOCKED` and hold them by a lease (`leased_until`) rather
than by an open transaction: a process killed mid-delivery leaves only a lease that runs out,
after which any dispatcher claims the delivery again. An outcome is written only by the claim
that holds the lease (same `attempts`), so a late answer cannot overwrite a newer attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from db.pool import Connection
from domain.api_keys import LEADS_READ

# Spells "webhooks" in pg_locks; one fan-out at a time keeps a job's deliveries in seq order.
FAN_OUT_LOCK_KEY = 0x7765626B
TRY_FAN_OUT_LOCK = "SELECT pg_try_advisory_xact_lock($1)"
# A delivery is dated by its event (a job's later events are later), so that an endpoint's
# listing shows them in the order they happened, however they were batched.
# An event goes to the endpoints subscribed to its type that are enabled and whose key is live:
# the key's own jobs, and, with leads:read and a filter, every job the filter matches (and a
# job's later events once the endpoint has heard of it).
FAN_OUT = f"""
WITH ev AS (
    SELECT id, seq, type, job_id, api_key_id, micro_id, postcode_area, created_at
      FROM webhook_events
     WHERE fanned_out_at IS NULL
     ORDER BY seq
     LIMIT $1
       FOR UPDATE SKIP LOCKED
), targets AS (
    SELECT ev.id AS event_id, ev.seq, ev.job_id, e.id AS endpoint_id, ev.created_at
      FROM ev
      JOIN webhook_endpoints e ON e.enabled AND ev.type = ANY(e.events)
      JOIN api_keys k ON k.id = e.api_key_id AND k.revoked_at IS NULL
      LEFT JOIN micro_services m ON m.slug = ev.micro_id
     WHERE ev.job_id IS NOT NULL
       AND (e.api_key_id = ev.api_key_id
            OR (e.has_filter AND '{LEADS_READ}' = ANY(k.scopes)
                AND ((     (e.filter_categories IS NULL OR m.category = ANY(e.filter_categories))
                       AND (e.filter_micro_services IS NULL
                            OR ev.micro_id = ANY(e.filter_micro_services))
                       AND (e.filter_postcode_areas IS NULL
                            OR ev.postcode_area = ANY(e.filter_postcode_areas)))
                     OR EXISTS (SELECT 1 FROM webhook_deliveries p
                                 WHERE p.endpoint_id = e.id AND p.job_id = ev.job_id))))
), delivered AS (
    INSERT INTO webhook_deliveries (event_id, event_seq, endpoint_id, job_id, created_at)
    SELECT event_id, seq, endpoint_id, job_id, created_at FROM targets
    ON CONFLICT (event_id, endpoint_id) DO NOTHING
    RETURNING 1
), done AS (
    UPDATE webhook_events SET fanned_out_at = now() FROM ev WHERE webhook_events.id = ev.id
)
SELECT (SELECT count(*) FROM ev) AS events, (SELECT count(*) FROM delivered) AS deliveries
"""
# Due deliveries, oldest first: per endpoint and job only the earliest pending one (a job's
# events arrive in order), per endpoint no more than $2 in flight counting those already
# leased; then locked, skipping any another dispatcher holds, and leased for $4 seconds. The
# locking step re-checks the lease, which a dispatcher may have taken since the scan.
CLAIM = """
WITH busy AS (
    SELECT endpoint_id, count(*) AS n FROM webhook_deliveries
     WHERE status = 'PENDING' AND leased_until > now()
     GROUP BY endpoint_id
), due AS (
    SELECT d.id, d.endpoint_id, d.next_attempt_at FROM webhook_deliveries d
     WHERE d.status = 'PENDING' AND d.next_attempt_at <= now()
       AND (d.leased_until IS NULL OR d.leased_until <= now())
       AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
                        WHERE p.endpoint_id = d.endpoint_id AND p.job_id = d.job_id
                          AND p.status = 'PENDING' AND p.event_seq < d.event_seq)
     ORDER BY d.next_attempt_at
     LIMIT $3
), ranked AS (
    SELECT due.id,
           row_number() OVER (PARTITION BY due.endpoint_id ORDER BY due.next_attempt_at)
             + coalesce(b.n, 0) AS slot
      FROM due
      JOIN webhook_endpoints e ON e.id = due.endpoint_id AND e.enabled
      LEFT JOIN busy b ON b.endpoint_id = due.endpoint_id
), picked AS (
    SELECT d.id FROM webhook_deliveries d JOIN ranked r ON r.id = d.id
     WHERE r.slot <= $2 AND d.status = 'PENDING'
       AND (d.leased_until IS NULL OR d.leased_until <= now())
     ORDER BY d.next_attempt_at
     LIMIT $1
       FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries d
   SET leased_until = now() + make_interval(secs => $4), attempts = d.attempts + 1
  FROM picked, webhook_events ev, webhook_endpoints e
 WHERE d.id = picked.id AND ev.id = d.event_id AND e.id = d.endpoint_id
RETURNING d.id, d.attempts, d.endpoint_id, ev.id AS event_id, ev.type, ev.data, ev.created_at,
          e.url, e.secret,
          CASE WHEN e.previous_secret_until > now() THEN e.previous_secret END AS previous_secret
"""
_HELD = "d.id = $1 AND d.attempts = $2 AND d.status = 'PENDING'"
DELIVERED = f"""
WITH d AS (
    UPDATE webhook_deliveries d
       SET status = 'DELIVERED', last_status_code = $3, last_error = NULL, finished_at = now(),
           next_attempt_at = NULL, leased_until = NULL
     WHERE {_HELD}
    RETURNING d.endpoint_id
)
UPDATE webhook_endpoints e SET failing_since = NULL
  FROM d WHERE e.id = d.endpoint_id AND e.failing_since IS NOT NULL
"""
# A failure: again after $5 seconds, or (null) given up. The endpoint is failing since its first
# failure after a success; failing for $6 seconds, or answering 410 Gone ($7), disables it.
FAILED = f"""
WITH d AS (
    UPDATE webhook_deliveries d
       SET status = CASE WHEN $5::float8 IS NULL THEN 'FAILED' ELSE 'PENDING' END,
           last_status_code = $3, last_error = $4,
           next_attempt_at = now() + make_interval(secs => $5::float8),
           finished_at = CASE WHEN $5::float8 IS NULL THEN now() END,
           leased_until = NULL
     WHERE {_HELD}
    RETURNING d.endpoint_id
)
UPDATE webhook_endpoints e
   SET failing_since = coalesce(e.failing_since, now()),
       enabled = e.enabled AND NOT $7
                 AND coalesce(e.failing_since, now()) > now() - make_interval(secs => $6),
       disabled_reason = CASE
           WHEN $7 THEN 'gone'
           WHEN coalesce(e.failing_since, now()) <= now() - make_interval(secs => $6)
           THEN 'failing' ELSE e.disabled_reason END
  FROM d WHERE e.id = d.endpoint_id
"""
# A stopping process gives back what it was sending: claimable at once, the attempt uncounted.
RELEASE = """
UPDATE webhook_deliveries d
   SET leased_until = NULL, attempts = d.attempts - 1
  FROM unnest($1::uuid[], $2::int[]) AS held (id, attempts)
 WHERE d.id = held.id AND d.attempts = held.attempts AND d.status = 'PENDING'
"""
# The backlog: pending deliveries of enabled endpoints and the age of the oldest.
BACKLOG = """
SELECT count(*) AS pending,
       coalesce(extract(epoch FROM now() - min(d.created_at)), 0)::float8 AS oldest_seconds
  FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.enabled
 WHERE d.status = 'PENDING'
"""
DELETE_FINISHED = """
WITH gone AS (
    SELECT id FROM webhook_deliveries
     WHERE status <> 'PENDING' AND finished_at < now() - make_interval(days => $1)
     LIMIT $2
)
DELETE FROM webhook_deliveries d USING gone WHERE d.id = gone.id
"""
# Events fanned out before the retention and left without a delivery.
DELETE_SPENT_EVENTS = """
DELETE FROM webhook_events
 WHERE id IN (SELECT ev.id FROM webhook_events ev
               WHERE ev.fanned_out_at IS NOT NULL
                 AND ev.created_at < now() - make_interval(days => $1)
                 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = ev.id)
               LIMIT $2)
"""


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery leased to this dispatcher: what to send where, signed with which secrets."""

    id: UUID
    attempts: int
    endpoint_id: UUID
    event_id: UUID
    event_type: str
    data: dict[str, Any]
    event_at: datetime
    url: str
    secrets: tuple[str, ...] = field(repr=False)

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Claimed:
        secrets = (row["secret"],) + ((row["previous_secret"],) if row["previous_secret"] else ())
        return cls(
            id=row["id"],
            attempts=row["attempts"],
            endpoint_id=row["endpoint_id"],
            event_id=row["event_id"],
            event_type=row["type"],
            data=row["data"],
            event_at=row["created_at"],
            url=row["url"],
            secrets=secrets,
        )


@dataclass(frozen=True, slots=True)
class Backlog:
    pending: int
    oldest_seconds: float


async def fan_out(pool: asyncpg.Pool, *, batch_size: int) -> int:
    """Deliveries for up to `batch_size` new events; how many events were fanned out (0 also
    when another process is fanning out now)."""
    conn: Connection
    async with pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval(TRY_FAN_OUT_LOCK, FAN_OUT_LOCK_KEY):
            return 0
        row = await conn.fetchrow(FAN_OUT, batch_size)
        assert row is not None
        events: int = row["events"]
        return events


async def claim(
    pool: asyncpg.Pool, *, limit: int, per_endpoint: int, lease_seconds: float
) -> list[Claimed]:
    rows = await pool.fetch(CLAIM, limit, per_endpoint, max(limit * 4, 100), lease_seconds)
    return [Claimed.from_row(r) for r in rows]


async def record_delivered(pool: asyncpg.Pool, claimed: Claimed, *, status_code: int) -> None:
    await pool.execute(DELIVERED, claimed.id, claimed.attempts, status_code)


async def record_failed(
    pool: asyncpg.Pool,
    claimed: Claimed,
    *,
    status_code: int | None,
    error: str | None,
    retry_in: float | None,
    disable_after_seconds: float,
    gone: bool = False,
) -> None:
    """A failed attempt: tried again in `retry_in` seconds, or given up (None)."""
    await pool.execute(
        FAILED,
        claimed.id,
        claimed.attempts,
        status_code,
        None if error is None else error[:200],
        retry_in,
        disable_after_seconds,
        gone,
    )


async def release(pool: asyncpg.Pool, held: Sequence[Claimed]) -> None:
    await pool.execute(RELEASE, [c.id for c in held], [c.attempts for c in held])


async def backlog(pool: asyncpg.Pool) -> Backlog:
    row = await pool.fetchrow(BACKLOG)
    assert row is not None
    return Backlog(pending=row["pending"], oldest_seconds=row["oldest_seconds"])


async def delete_finished(pool: asyncpg.Pool, *, days: int, batch_size: int = 1000) -> int:
    """Delete deliveries finished more than `days` ago, then their spent events; how many
    deliveries went."""
    deleted = 0
    while True:
        status = await pool.execute(DELETE_FINISHED, days, batch_size)
        done = int(status.split()[-1])
        deleted += done
        if done < batch_size:
            break
    while True:
        status = await pool.execute(DELETE_SPENT_EVENTS, days, batch_size)
        if int(status.split()[-1]) < batch_size:
            return deleted
