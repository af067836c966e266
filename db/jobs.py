"""A job's life in SQL: read one, change it, end it, list a caller's jobs, expire old ones.

Every change is one `UPDATE ... WHERE id = $1 AND version = $2 AND status = 'PUBLISHED'` with
its audit row and its webhook event (db/outbox.py) in the same statement: it bumps the version
and updated_at, or changes nothing when someone else changed the job first (the caller reads it
again and decides).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from db.outbox import ENDED, job_event
from db.pool import Connection
from db.queries import JOB_COLUMNS, JOB_CUSTOMER
from db.records import JobRecord
from db.uploads import attach_photos
from domain.api_keys import ApiKey
from domain.contact import Contact
from domain.customers import Customer
from domain.jobs import Cursor, JobStatus, Principal, actor_of
from domain.location import Location

Executor = asyncpg.Pool | Connection

# Who acted, for the audit row: the job's customer or its key (only its owner may change it).
_ACTOR_ID = "CASE WHEN $3 = 'customer' THEN j.customer_id ELSE j.api_key_id END"
_AUDITED = """
), audit AS (
    INSERT INTO job_audit (job_id, actor_kind, actor_id, action, changed, from_version,
                           to_version)
    SELECT j.id, $3, {actor_id}, $4, $5::text[], j.version - 1, j.version FROM j
){event}
SELECT {columns} FROM j {customer}
"""


def _audit_tail(event_type: str) -> str:
    """The audit row, the webhook event (db/outbox.py) and the job as read back."""
    return _AUDITED.format(
        actor_id=_ACTOR_ID,
        event=job_event(event_type),
        columns=JOB_COLUMNS,
        customer=JOB_CUSTOMER,
    )


# $1 id, $2 the version read, $3 actor kind, $4 action, $5 changed fields, then the values.
UPDATE_PUBLISHED_JOB = f"""
WITH j AS (
    UPDATE jobs
       SET answers = $6::jsonb, description = $7, postcode = $8, postcode_district = $9,
           postcode_area = $10, address_line = $11, contact_name = $12, contact_email = $13,
           contact_phone = $14, preferred_contact = $15,
           version = version + 1, updated_at = now()
     WHERE id = $1 AND version = $2 AND status = 'PUBLISHED'
    RETURNING *
{_audit_tail("'job.updated'")}"""
END_PUBLISHED_JOB = f"""
WITH j AS (
    UPDATE jobs
       SET status = $6, cancel_reason = $7, outcome = $8, ended_at = now(),
           version = version + 1, updated_at = now()
     WHERE id = $1 AND version = $2 AND status = 'PUBLISHED'
    RETURNING *
{_audit_tail(ENDED)}"""

SELECT_JOB = f"SELECT {JOB_COLUMNS} FROM jobs j {JOB_CUSTOMER} WHERE j.id = $1"
# myJobs: one statement per page, the total beside it. The page walks the listing index from
# the cursor down (the first page from a cursor past every job: no OR on a parameter, which a
# generic plan could not use as an index condition); an empty page still yields the total's
# row, its job columns null.
_LISTING = """
SELECT t.total, p.*
  FROM (SELECT count(*) AS total FROM jobs j
         WHERE {owner} AND j.status = ANY($2::text[])) AS t
  LEFT JOIN LATERAL (
      SELECT {columns} FROM jobs j {customer}
       WHERE {owner} AND j.status = ANY($2::text[])
         AND (j.created_at, j.id) < ($3::timestamptz, $4::uuid)
       ORDER BY j.created_at DESC, j.id DESC
       LIMIT $5
  ) AS p ON true
 ORDER BY p.created_at DESC, p.id DESC
"""
LIST_API_KEY_JOBS = _LISTING.format(
    owner="j.api_key_id = $1::uuid", columns=JOB_COLUMNS, customer=JOB_CUSTOMER
)
LIST_CUSTOMER_JOBS = _LISTING.format(
    owner="j.customer_id = (SELECT id FROM customers WHERE issuer = $1 AND subject = $6)",
    columns=JOB_COLUMNS,
    customer=JOB_CUSTOMER,
)

# Oldest first, a bounded batch at a time; SKIP LOCKED leaves a job someone is changing right
# now to them, and lets two servers expire at once.
EXPIRE_JOBS = f"""
WITH due AS (
    SELECT id FROM jobs
     WHERE status = 'PUBLISHED' AND created_at < now() - make_interval(days => $1)
     ORDER BY created_at
     LIMIT $2
       FOR UPDATE SKIP LOCKED
), j AS (
    UPDATE jobs
       SET status = 'EXPIRED', ended_at = now(), version = version + 1, updated_at = now()
      FROM due
     WHERE jobs.id = due.id
    RETURNING jobs.*
), audit AS (
    INSERT INTO job_audit (job_id, actor_kind, action, from_version, to_version)
    SELECT id, 'system', 'expired', version - 1, version FROM j
){job_event("'job.expired'")}
SELECT count(*) FROM j
"""


# Where a listing starts without a cursor: after every job there is.
_BEFORE_ALL = Cursor(datetime(9999, 12, 31, tzinfo=UTC), UUID(int=(1 << 128) - 1))


@dataclass(frozen=True, slots=True)
class JobPage:
    jobs: list[JobRecord]
    total: int
    has_next: bool


@dataclass(frozen=True, slots=True)
class JobContent:
    """What an update may change: the whole of it, as it is to be stored."""

    answers: dict[str, Any]
    description: str | None = field(repr=False)
    location: Location | None = field(repr=False)
    contact: Contact | None = field(repr=False)


async def fetch_job(db: Executor, *, job_id: UUID) -> JobRecord | None:
    row = await db.fetchrow(SELECT_JOB, job_id)
    return None if row is None else JobRecord.from_row(row)


async def update_published_job(
    conn: Connection,
    *,
    job: JobRecord,
    content: JobContent,
    changed: Sequence[str],
    actor: Principal,
    photo_ids: Sequence[UUID] | None = None,
) -> JobRecord | None:
    """Store `content` as the new version of `job` (read at `job.version`), with `photo_ids`
    (None: photos as they are) and its audit row; None when the job changed meanwhile."""
    location, contact = content.location, content.contact
    postcode = location.postcode if location is not None else None
    args = (
        UPDATE_PUBLISHED_JOB,
        job.id,
        job.version,
        actor_of(actor),
        "updated",
        list(changed),
        content.answers,
        content.description,
        postcode.postcode if postcode is not None else None,
        postcode.district if postcode is not None else None,
        postcode.area if postcode is not None else None,
        location.address_line if location is not None else None,
        contact.name if contact is not None else None,
        contact.email if contact is not None else None,
        contact.phone if contact is not None else None,
        contact.preferred.value if contact is not None else None,
    )
    if photo_ids is None:
        row = await conn.fetchrow(*args)
        return None if row is None else JobRecord.from_row(row)
    async with conn.transaction():
        row = await conn.fetchrow(*args)
        if row is None:
            return None
        updated = JobRecord.from_row(row)
        await attach_photos(
            conn,
            job_id=job.id,
            ids=photo_ids,
            api_key_id=actor.id if isinstance(actor, ApiKey) else None,
            customer_id=updated.customer_id if isinstance(actor, Customer) else None,
            replace=True,
        )
        return updated


async def end_published_job(
    db: Executor,
    *,
    job: JobRecord,
    status: str,
    actor: Principal,
    reason: str | None = None,
    outcome: str | None = None,
) -> JobRecord | None:
    """Move `job` (read at `job.version`) from PUBLISHED to `status` with its audit row; None
    when the job changed meanwhile."""
    action = {"CANCELLED": "cancelled", "CLOSED": "closed"}[status]
    changed = ["status"] + (["reason"] if reason else []) + (["outcome"] if outcome else [])
    row = await db.fetchrow(
        END_PUBLISHED_JOB,
        job.id,
        job.version,
        actor_of(actor),
        action,
        changed,
        status,
        reason,
        outcome,
    )
    return None if row is None else JobRecord.from_row(row)


async def list_jobs(
    db: Executor,
    *,
    owner: Principal,
    first: int,
    after: Cursor | None,
    statuses: Sequence[str] | None,
) -> JobPage:
    """`owner`'s jobs, newest first, `first` after `after`, with the total: one statement."""
    start = after if after is not None else _BEFORE_ALL
    status_list = list(statuses) if statuses else [s.value for s in JobStatus]
    if isinstance(owner, Customer):
        rows = await db.fetch(
            LIST_CUSTOMER_JOBS,
            owner.issuer,
            status_list,
            start.created_at,
            start.id,
            first + 1,
            owner.subject,
        )
    else:
        rows = await db.fetch(
            LIST_API_KEY_JOBS, owner.id, status_list, start.created_at, start.id, first + 1
        )
    total = rows[0]["total"] if rows else 0
    jobs = [JobRecord.from_row(row) for row in rows if row["id"] is not None]
    return JobPage(jobs=jobs[:first], total=total, has_next=len(jobs) > first)


async def expire_jobs(pool: asyncpg.Pool, *, days: int, batch_size: int = 500) -> int:
    """Move PUBLISHED jobs older than `days` to EXPIRED, a batch per transaction, with their
    audit rows; how many moved."""
    expired = 0
    while True:
        done: int = await pool.fetchval(EXPIRE_JOBS, days, batch_size)
        expired += done
        if done < batch_size:
            return expired
