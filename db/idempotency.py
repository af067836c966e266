"""Job storage, once per idempotency key: the same caller + key + input yields the same job,
never a second one.

The key is claimed in the same transaction as the job it names, through a unique index on
(caller, idempotency key), the caller being an API key or a customer: of any number of
concurrent duplicates exactly one commits a job; the others wait on that key, roll their own job
back, and answer with the winner's job. A request that fails validation never reaches this
module, so it stores nothing and may be corrected and retried under the same key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from db.customers import ensure_customer
from db.outbox import job_event
from db.pool import Connection
from db.queries import JOB_COLUMNS, JOB_CUSTOMER
from db.records import JobRecord
from db.uploads import attach_photos
from domain.api_keys import ApiKey
from domain.contact import Contact
from domain.customers import Customer
from domain.errors import BadUserInputError
from domain.idempotency import IDEMPOTENCY_KEY_REUSED, request_fingerprint
from domain.location import Location

# The job, its audit row and its webhook event in one statement: atomic without a transaction
# of its own.
INSERT_OWNED_JOB = f"""
WITH j AS (
    INSERT INTO jobs (micro_id, micro_uuid, answers, api_key_id, customer_id, customer_ref_hash,
                      postcode, postcode_district, postcode_area, address_line, contact_name,
                      contact_email, contact_phone, preferred_contact, description)
    VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
    RETURNING *
), audit AS (
    INSERT INTO job_audit (job_id, actor_kind, actor_id, action, to_version)
    SELECT id,
           CASE WHEN customer_id IS NOT NULL THEN 'customer'
                WHEN api_key_id IS NOT NULL THEN 'api_key' ELSE 'system' END,
           coalesce(customer_id, api_key_id), 'published', version
      FROM j
){job_event("'job.published'")}
SELECT {JOB_COLUMNS} FROM j {JOB_CUSTOMER}
"""
# ON CONFLICT, not check-then-insert: a concurrent duplicate blocks on the unique index until
# the first transaction ends, then gets no row back (and reads the winner's) instead of a
# second job. One statement per scope: each names the partial index it is arbitrated by.
_CLAIM = """
INSERT INTO idempotency_keys ({owner}, key, request_sha256, job_id) VALUES ($1, $2, $3, $4)
ON CONFLICT ({owner}, key) WHERE {owner} IS NOT NULL DO NOTHING
RETURNING job_id
"""
_CLAIMED = f"""
SELECT k.request_sha256, {JOB_COLUMNS}
  FROM idempotency_keys k JOIN jobs j ON j.id = k.job_id {JOB_CUSTOMER}
 WHERE k.{{owner}} = $1 AND k.key = $2
"""
CLAIM_API_KEY_IDEMPOTENCY_KEY = _CLAIM.format(owner="api_key_id")
CLAIM_CUSTOMER_IDEMPOTENCY_KEY = _CLAIM.format(owner="customer_id")
SELECT_API_KEY_CLAIMED_JOB = _CLAIMED.format(owner="api_key_id")
SELECT_CUSTOMER_CLAIMED_JOB = _CLAIMED.format(owner="customer_id")
# A claimed key can vanish between two statements only if it is purged meanwhile.
_CLAIM_ATTEMPTS = 3
DELETE_IDEMPOTENCY_KEYS_OLDER_THAN = """
DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)
"""


@dataclass(frozen=True, slots=True)
class NewJob:
    """A validated job to store, and who publishes it."""

    slug: str
    micro_uuid: UUID | None
    answers: dict[str, Any]
    publisher: ApiKey | Customer | None  # None only below the API (old-style test drafts)
    customer_ref_hash: str | None = None
    location: Location | None = None
    photo_ids: Sequence[UUID] = ()
    contact: Contact | None = field(default=None, repr=False)
    description: str | None = field(default=None, repr=False)

    @property
    def api_key_id(self) -> UUID | None:
        return self.publisher.id if isinstance(self.publisher, ApiKey) else None

    def fingerprint(self) -> str:
        return request_fingerprint(
            self.slug,
            self.answers,
            self.location,
            self.photo_ids,
            customer_ref_hash=self.customer_ref_hash,
            contact=self.contact,
            description=self.description,
        )


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    request_sha256: str
    job: JobRecord


async def insert_owned_job(
    conn: Connection, job: NewJob, *, customer_id: UUID | None = None
) -> JobRecord:
    """Store `job` with its audit row; the caller owns any transaction around it."""
    postcode = job.location.postcode if job.location is not None else None
    contact = job.contact
    row = await conn.fetchrow(
        INSERT_OWNED_JOB,
        job.slug,
        job.micro_uuid,
        job.answers,
        job.api_key_id,
        customer_id,
        job.customer_ref_hash,
        postcode.postcode if postcode is not None else None,
        postcode.district if postcode is not None else None,
        postcode.area if postcode is not None else None,
        job.location.address_line if job.location is not None else None,
        contact.name if contact is not None else None,
        contact.email if contact is not None else None,
        contact.phone if contact is not None else None,
        contact.preferred.value if contact is not None else None,
        job.description,
    )
    assert row is not None  # INSERT ... RETURNING always yields the row
    return JobRecord.from_row(row)


async def claim_idempotency_key(
    conn: Connection,
    *,
    owner_id: UUID,
    customer: bool,
    key: str,
    request_sha256: str,
    job_id: UUID,
) -> bool:
    """Record `key` as naming `job_id` for its owner (a customer's id, or an API key's); False
    when the key was already taken (by a committed transaction, possibly one this waited for)."""
    claim = CLAIM_CUSTOMER_IDEMPOTENCY_KEY if customer else CLAIM_API_KEY_IDEMPOTENCY_KEY
    claimed = await conn.fetchval(claim, owner_id, key, request_sha256, job_id)
    return claimed is not None


async def fetch_claimed_job(
    conn: Connection, *, owner_id: UUID, customer: bool, key: str
) -> ClaimedJob | None:
    select = SELECT_CUSTOMER_CLAIMED_JOB if customer else SELECT_API_KEY_CLAIMED_JOB
    row = await conn.fetchrow(select, owner_id, key)
    if row is None:
        return None
    return ClaimedJob(request_sha256=row["request_sha256"], job=JobRecord.from_row(row))


async def delete_idempotency_keys_older_than(conn: Connection, *, seconds: float) -> int:
    """Forget keys older than `seconds`; return how many were deleted."""
    status = await conn.execute(DELETE_IDEMPOTENCY_KEYS_OLDER_THAN, seconds)
    return int(status.split()[-1])


class _KeyTaken(Exception):
    """Raised inside the transaction to roll back the job we inserted for a taken key."""


async def store_job(conn: Connection, job: NewJob, *, idempotency_key: str | None) -> JobRecord:
    """Store a validated job (once per idempotency key, when one is given), with its location
    and photos: the photos are attached in the job's transaction, so a photo that cannot be
    attached leaves no job behind."""
    publisher = job.publisher
    if job.photo_ids and publisher is None:
        raise BadUserInputError(
            "Photos need a caller: they are uploads of whoever publishes the job.",
            fields={"photoIds": "Photos need a caller."},
        )
    if idempotency_key is not None and publisher is None:
        # Keys are scoped to the caller; without one there is no caller to scope them to.
        raise BadUserInputError("An idempotency key needs a caller to be scoped to.")
    if idempotency_key is None and not job.photo_ids and not isinstance(publisher, Customer):
        # One statement is atomic on its own: no BEGIN and COMMIT round trips around it.
        return await insert_owned_job(conn, job)
    fingerprint = job.fingerprint()
    for _ in range(_CLAIM_ATTEMPTS):
        try:
            async with conn.transaction():
                customer_id = (
                    await ensure_customer(conn, publisher)
                    if isinstance(publisher, Customer)
                    else None
                )
                stored = await insert_owned_job(conn, job, customer_id=customer_id)
                owner_id = customer_id if customer_id is not None else job.api_key_id
                if idempotency_key is not None and owner_id is not None:
                    claimed = await claim_idempotency_key(
                        conn,
                        owner_id=owner_id,
                        customer=customer_id is not None,
                        key=idempotency_key,
                        request_sha256=fingerprint,
                        job_id=stored.id,
                    )
                    if not claimed:
                        raise _KeyTaken(owner_id)
                # After the claim: a retry of a published job finds the key taken and answers
                # with that job, rather than see its own photos "already attached".
                await attach_photos(
                    conn,
                    job_id=stored.id,
                    ids=job.photo_ids,
                    api_key_id=job.api_key_id,
                    customer_id=customer_id,
                )
                return stored
        except _KeyTaken as taken:
            (owner_id,) = taken.args
        assert idempotency_key is not None
        claimed_job = await fetch_claimed_job(
            conn,
            owner_id=owner_id,
            customer=isinstance(publisher, Customer),
            key=idempotency_key,
        )
        if claimed_job is None:
            continue  # purged between our two statements: claim it afresh
        if claimed_job.request_sha256 != fingerprint:
            raise BadUserInputError(
                "This idempotency key was already used for a different job input.",
                fields={"idempotencyKey": "Already used with a different input; use a new key."},
                reason=IDEMPOTENCY_KEY_REUSED,
            )
        return claimed_job.job
    raise RuntimeError(f"idempotency key could not be claimed in {_CLAIM_ATTEMPTS} attempts")
