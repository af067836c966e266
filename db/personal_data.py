"""Personal data held about jobs and customers: purged after its retention, erased on request,
exported on request.

Personal data is a job's contact details, address line, description and photos, and the
customer's identity (issuer, subject). Erasure and the retention purge blank the first, delete
the photos with their bytes and keep the rest of the job (service, answers, postcode district,
dates) as anonymous statistics, with an audit row that names what went, never its value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from db.media_store import MediaStore
from db.outbox import job_event
from db.pool import Connection
from domain.customers import Customer
from domain.jobs import Principal, actor_of
from domain.uploads import thumbnail_key

ERASED_FIELDS = ["contact", "address_line", "description", "photos"]
_BLANKED = """
contact_name = NULL, contact_email = NULL, contact_phone = NULL, preferred_contact = NULL,
address_line = NULL, description = NULL, cancel_reason = NULL, contact_erased_at = now()
"""
# Ended jobs past the retention that still hold personal data, oldest first, a batch at a time
# (the partial index holds exactly these); SKIP LOCKED lets two servers purge at once.
LOCK_PURGEABLE_JOBS = """
SELECT id FROM jobs
 WHERE ended_at IS NOT NULL AND ended_at < now() - make_interval(days => $1)
   AND (contact_email IS NOT NULL OR address_line IS NOT NULL)
 ORDER BY ended_at
 LIMIT $2
   FOR UPDATE SKIP LOCKED
"""
# Photos go with the personal data: rows here, bytes from the media store.
DELETE_JOB_UPLOADS = """
DELETE FROM uploads WHERE job_id = ANY($1::uuid[]) RETURNING storage_key
"""
DELETE_CUSTOMER_UPLOADS = """
DELETE FROM uploads WHERE customer_id = $1 OR job_id = ANY($2::uuid[]) RETURNING storage_key
"""
BLANK_JOBS = f"""
WITH j AS (
    UPDATE jobs SET {_BLANKED} WHERE id = ANY($1::uuid[]) RETURNING id, version
), audit AS (
    INSERT INTO job_audit (job_id, actor_kind, actor_id, action, changed, from_version,
                           to_version)
    SELECT id, $2, $3, $4, $5::text[], version, version FROM j
)
SELECT count(*) FROM j
"""
LOCK_CUSTOMER = "SELECT id FROM customers WHERE issuer = $1 AND subject = $2 FOR UPDATE"
SELECT_CUSTOMER_JOB_IDS = "SELECT id FROM jobs WHERE customer_id = $1 FOR UPDATE"
CANCEL_OPEN_JOBS = f"""
WITH j AS (
    UPDATE jobs
       SET status = 'CANCELLED', ended_at = now(), version = version + 1, updated_at = now()
     WHERE id = ANY($1::uuid[]) AND status = 'PUBLISHED'
    RETURNING *
), audit AS (
    INSERT INTO job_audit (job_id, actor_kind, actor_id, action, changed, from_version,
                           to_version)
    SELECT id, $2, $3, 'cancelled', '{{status}}', version - 1, version FROM j
){job_event("'job.cancelled'")}
SELECT count(*) FROM j
"""
# What is left is anonymous: no link to the customer, no reference derived from them.
UNLINK_CUSTOMER_JOBS = """
UPDATE jobs SET customer_id = NULL, customer_ref_hash = NULL WHERE id = ANY($1::uuid[])
"""
DELETE_CUSTOMER = "DELETE FROM customers WHERE id = $1"

SELECT_EXPORT_CUSTOMER = """
SELECT id, issuer, subject, created_at FROM customers WHERE issuer = $1 AND subject = $2
"""
SELECT_EXPORT_JOBS = """
SELECT id, micro_id, micro_uuid, status, created_at, coalesce(updated_at, created_at)
       AS updated_at, version, answers, description, contact_name, contact_email, contact_phone,
       preferred_contact, postcode, address_line, cancel_reason, outcome, ended_at
  FROM jobs WHERE customer_id = $1 ORDER BY created_at, id
"""
SELECT_EXPORT_UPLOADS = """
SELECT id, job_id, position, content_type, width, height, bytes, created_at
  FROM uploads WHERE customer_id = $1 OR job_id = ANY($2::uuid[])
 ORDER BY created_at, id
"""
SELECT_EXPORT_AUDIT = """
SELECT job_id, at, actor_kind, action, changed, from_version, to_version
  FROM job_audit WHERE job_id = ANY($1::uuid[]) ORDER BY id
"""


async def _delete_bytes(store: MediaStore, storage_keys: Sequence[str]) -> None:
    await store.delete([k for key in storage_keys for k in (key, thumbnail_key(key))])


async def purge_contact_details(
    pool: asyncpg.Pool, store: MediaStore, *, days: int, batch_size: int = 500
) -> int:
    """Blank the personal data of jobs that left PUBLISHED more than `days` ago, and delete
    their photos; how many jobs were purged. A batch per transaction."""
    purged = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            ids = [r["id"] for r in await conn.fetch(LOCK_PURGEABLE_JOBS, days, batch_size)]
            if not ids:
                return purged
            keys = [r["storage_key"] for r in await conn.fetch(DELETE_JOB_UPLOADS, ids)]
            await _delete_bytes(store, keys)
            await conn.fetchval(BLANK_JOBS, ids, "system", None, "contact_purged", ERASED_FIELDS)
        purged += len(ids)
        if len(ids) < batch_size:
            return purged


async def erase_customer(
    pool: asyncpg.Pool, store: MediaStore | None, customer: Customer, *, actor: Principal | None
) -> int:
    """Erase `customer`: their open jobs cancelled, every job's personal data blanked and
    unlinked from them, their photos deleted with their bytes, their row deleted. How many
    jobs were erased; 0 when nothing is held (erasing twice is no error). `actor` None: an
    operator (the audit's `system`)."""
    async with pool.acquire() as conn, conn.transaction():
        customer_id = await conn.fetchval(LOCK_CUSTOMER, customer.issuer, customer.subject)
        if customer_id is None:
            return 0
        ids = [r["id"] for r in await conn.fetch(SELECT_CUSTOMER_JOB_IDS, customer_id)]
        kind = "system" if actor is None else actor_of(actor)
        actor_id = None if actor is None else customer_id
        await conn.fetchval(CANCEL_OPEN_JOBS, ids, kind, actor_id)
        keys = [
            r["storage_key"] for r in await conn.fetch(DELETE_CUSTOMER_UPLOADS, customer_id, ids)
        ]
        if store is not None:
            await _delete_bytes(store, keys)
        await conn.fetchval(BLANK_JOBS, ids, kind, actor_id, "erased", ERASED_FIELDS)
        await conn.execute(UNLINK_CUSTOMER_JOBS, ids)
        await conn.execute(DELETE_CUSTOMER, customer_id)
        return len(ids)


async def export_customer(db: Connection, customer: Customer) -> dict[str, Any] | None:
    """Everything held about `customer`, as JSON-ready values; None when nothing is."""
    found = await db.fetchrow(SELECT_EXPORT_CUSTOMER, customer.issuer, customer.subject)
    if found is None:
        return None
    jobs = await db.fetch(SELECT_EXPORT_JOBS, found["id"])
    ids: list[UUID] = [j["id"] for j in jobs]
    uploads = await db.fetch(SELECT_EXPORT_UPLOADS, found["id"], ids)
    audit = await db.fetch(SELECT_EXPORT_AUDIT, ids)
    photos: dict[UUID | None, list[dict[str, Any]]] = {}
    for u in uploads:
        photos.setdefault(u["job_id"], []).append(
            {
                "id": str(u["id"]),
                "contentType": u["content_type"],
                "width": u["width"],
                "height": u["height"],
                "bytes": u["bytes"],
                "uploadedAt": u["created_at"].isoformat(),
            }
        )
    history: dict[UUID, list[dict[str, Any]]] = {}
    for a in audit:
        history.setdefault(a["job_id"], []).append(
            {
                "at": a["at"].isoformat(),
                "actor": a["actor_kind"],
                "action": a["action"],
                "changed": list(a["changed"]),
                "fromVersion": a["from_version"],
                "toVersion": a["to_version"],
            }
        )
    return {
        "customer": {
            "issuer": found["issuer"],
            "subject": found["subject"],
            "firstSeen": found["created_at"].isoformat(),
        },
        "jobs": [_job(j, photos.get(j["id"], []), history.get(j["id"], [])) for j in jobs],
        "unattachedPhotos": photos.get(None, []),
    }


def _job(
    row: asyncpg.Record, photos: list[dict[str, Any]], audit: list[dict[str, Any]]
) -> dict[str, Any]:
    contact = None
    if row["contact_email"] is not None:
        contact = {
            "name": row["contact_name"],
            "email": row["contact_email"],
            "phone": row["contact_phone"],
            "preferredContact": row["preferred_contact"],
        }
    ended = row["ended_at"]
    return {
        "id": str(row["id"]),
        "microId": row["micro_id"],
        "microUuid": None if row["micro_uuid"] is None else str(row["micro_uuid"]),
        "status": row["status"],
        "createdAt": row["created_at"].isoformat(),
        "updatedAt": row["updated_at"].isoformat(),
        "endedAt": None if ended is None else ended.isoformat(),
        "version": row["version"],
        "answers": row["answers"],
        "description": row["description"],
        "contact": contact,
        "location": {"postcode": row["postcode"], "addressLine": row["address_line"]},
        "cancelReason": row["cancel_reason"],
        "outcome": row["outcome"],
        "photos": photos,
        "audit": audit,
    }
