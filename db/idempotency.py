"""Idempotent job storage: the same caller + key + input yields the same job, never a second one.

The key is claimed in the same transaction as the job it names, through a primary key on
(api key, idempotency key): of any number of concurrent duplicates exactly one commits a job;
the others wait on that key, roll their own job back, and answer with the winner's job. A
request that fails validation never reaches this module, so it stores nothing and may be
corrected and retried under the same key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from db.pool import Connection
from db.queries import JOB_COLUMNS
from db.records import JobRecord
from db.uploads import attach_photos
from domain.errors import BadUserInputError
from domain.idempotency import IDEMPOTENCY_KEY_REUSED, request_fingerprint
from domain.location import Location

INSERT_OWNED_JOB = f"""
INSERT INTO jobs (micro_id, micro_uuid, answers, api_key_id, customer_ref_hash, postcode,
                  postcode_district, postcode_area, address_line)
VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9)
RETURNING {JOB_COLUMNS}
"""
# ON CONFLICT, not check-then-insert: a concurrent duplicate blocks on the primary key until the
# first transaction ends, then gets no row back (and reads the winner's) instead of a second job.
CLAIM_IDEMPOTENCY_KEY = """
INSERT INTO idempotency_keys (api_key_id, key, request_sha256, job_id) VALUES ($1, $2, $3, $4)
ON CONFLICT (api_key_id, key) DO NOTHING
RETURNING job_id
"""
SELECT_CLAIMED_JOB = f"""
SELECT k.request_sha256, {", ".join(f"j.{c.strip()}" for c in JOB_COLUMNS.split(","))}
  FROM idempotency_keys k JOIN jobs j ON j.id = k.job_id
 WHERE k.api_key_id = $1 AND k.key = $2
"""
# A claimed key can vanish between two statements only if it is purged meanwhile.
_CLAIM_ATTEMPTS = 3
DELETE_IDEMPOTENCY_KEYS_OLDER_THAN = """
DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)
"""


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    request_sha256: str
    job: JobRecord


async def insert_owned_job(
    conn: Connection,
    *,
    slug: str,
    micro_uuid: UUID | None,
    answers: dict[str, Any],
    api_key_id: UUID | None,
    customer_ref_hash: str | None = None,
    location: Location | None = None,
) -> JobRecord:
    """Store one job published by `api_key_id`; the caller owns the transaction."""
    postcode = location.postcode if location is not None else None
    row = await conn.fetchrow(
        INSERT_OWNED_JOB,
        slug,
        micro_uuid,
        answers,
        api_key_id,
        customer_ref_hash,
        postcode.postcode if postcode is not None else None,
        postcode.district if postcode is not None else None,
        postcode.area if postcode is not None else None,
        location.address_line if location is not None else None,
    )
    assert row is not None  # INSERT ... RETURNING always yields the row
    return JobRecord.from_row(row)


async def claim_idempotency_key(
    conn: Connection, *, api_key_id: UUID, key: str, request_sha256: str, job_id: UUID
) -> bool:
    """Record `key` as naming `job_id`; False when the key was already taken (by a committed
    transaction, possibly one this call waited for)."""
    claimed = await conn.fetchval(CLAIM_IDEMPOTENCY_KEY, api_key_id, key, request_sha256, job_id)
    return claimed is not None


async def fetch_claimed_job(conn: Connection, *, api_key_id: UUID, key: str) -> ClaimedJob | None:
    row = await conn.fetchrow(SELECT_CLAIMED_JOB, api_key_id, key)
    if row is None:
        return None
    return ClaimedJob(request_sha256=row["request_sha256"], job=JobRecord.from_row(row))


async def delete_idempotency_keys_older_than(conn: Connection, *, seconds: float) -> int:
    """Forget keys older than `seconds`; return how many were deleted."""
    status = await conn.execute(DELETE_IDEMPOTENCY_KEYS_OLDER_THAN, seconds)
    return int(status.split()[-1])


class _KeyTaken(Exception):
    """Raised inside the transaction to roll back the job we inserted for a taken key."""


async def store_job(
    conn: Connection,
    *,
    slug: str,
    micro_uuid: UUID | None,
    answers: dict[str, Any],
    api_key_id: UUID | None,
    idempotency_key: str | None,
    customer_ref_hash: str | None = None,
    location: Location | None = None,
    photo_ids: Sequence[UUID] = (),
) -> JobRecord:
    """Store a validated job (once per idempotency key, when one is given), with its location
    and photos: the photos are attached in the job's transaction, so a photo that cannot be
    attached leaves no job behind."""
    if photo_ids and api_key_id is None:
        raise BadUserInputError(
            "Photos need an API key: they are uploads of the key that publishes the job.",
            fields={"photoIds": "Photos need an API key."},
        )

    async def insert_job() -> JobRecord:
        return await insert_owned_job(
            conn,
            slug=slug,
            micro_uuid=micro_uuid,
            answers=answers,
            api_key_id=api_key_id,
            customer_ref_hash=customer_ref_hash,
            location=location,
        )

    if idempotency_key is None and not photo_ids:
        # One statement is atomic on its own: no BEGIN and COMMIT round trips around it.
        return await insert_job()
    if idempotency_key is None:
        async with conn.transaction():
            job = await insert_job()
            if photo_ids and api_key_id is not None:
                await attach_photos(conn, job_id=job.id, ids=photo_ids, api_key_id=api_key_id)
            return job
    if api_key_id is None:
        # Keys are scoped to the caller; without one there is no caller to scope them to.
        raise BadUserInputError("An idempotency key needs an API key to be scoped to.")
    fingerprint = request_fingerprint(slug, answers, location, photo_ids)
    for _ in range(_CLAIM_ATTEMPTS):
        try:
            async with conn.transaction():
                job = await insert_job()
                if await claim_idempotency_key(
                    conn,
                    api_key_id=api_key_id,
                    key=idempotency_key,
                    request_sha256=fingerprint,
                    job_id=job.id,
                ):
                    # After the claim: a retry of a published job finds the key taken and
                    # answers with that job, rather than see its own photos "already attached".
                    await attach_photos(conn, job_id=job.id, ids=photo_ids, api_key_id=api_key_id)
                    return job
                raise _KeyTaken
        except _KeyTaken:
            pass
        claimed = await fetch_claimed_job(conn, api_key_id=api_key_id, key=idempotency_key)
        if claimed is None:
            continue  # purged between our two statements: claim it afresh
        if claimed.request_sha256 != fingerprint:
            raise BadUserInputError(
                "This idempotency key was already used for a different job input.",
                fields={"idempotencyKey": "Already used with a different input; use a new key."},
                reason=IDEMPOTENCY_KEY_REUSED,
            )
        return claimed.job
    raise RuntimeError(f"idempotency key could not be claimed in {_CLAIM_ATTEMPTS} attempts")
