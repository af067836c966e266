"""Photo uploads in PostgreSQL: staged by POST /uploads, attached by publishJob, purged when
left unattached. SQL as named constants and the repository functions around them; the image
bytes go to a `MediaStore`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import asyncpg

from db.media_store import Blob, MediaStore
from db.pool import Connection
from domain.uploads import (
    UNATTACHED_TTL,
    UploadOwner,
    UploadQuota,
    check_attachable,
    storage_keys,
    thumbnail_key,
)

Executor = asyncpg.Pool | Connection

UPLOAD_COLUMNS = (
    "id, api_key_id, customer_id, content_type, width, height, bytes, sha256, thumb_width, "
    "thumb_height, thumb_bytes, thumb_sha256, received_bytes, storage_key, created_at, job_id, "
    "position"
)
# Serialises one key's uploads between the quota check and the insert, so that concurrent
# uploads cannot each see room for one more and all get in. Two-key form: the class number keeps
# these locks apart from every other advisory lock in the database.
UPLOAD_QUOTA_LOCK_CLASS = 0x75706C  # "upl"
LOCK_UPLOAD_QUOTA = "SELECT pg_advisory_xact_lock($1::int, hashtext($2::text))"
# Stored uploads and attempts not stored (refused, or still being decoded) alike; one statement
# per kind of owner, each served by its own index.
_UPLOAD_USAGE = """
SELECT count(*) AS uploads,
       coalesce(sum(received_bytes), 0)::bigint AS received_bytes,
       coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age
  FROM (SELECT received_bytes, created_at FROM uploads
         WHERE {owner} = $1 AND created_at > now() - make_interval(secs => $2)
        UNION ALL
        SELECT received_bytes, created_at FROM upload_attempts
         WHERE {owner} = $1 AND created_at > now() - make_interval(secs => $2)) AS recent
"""
SELECT_UPLOAD_USAGE = _UPLOAD_USAGE.format(owner="api_key_id")
SELECT_CUSTOMER_UPLOAD_USAGE = _UPLOAD_USAGE.format(owner="customer_id")
INSERT_UPLOAD_ATTEMPT = """
INSERT INTO upload_attempts (id, api_key_id, customer_id, received_bytes) VALUES ($1, $2, $3, $4)
"""
DELETE_UPLOAD_ATTEMPT = "DELETE FROM upload_attempts WHERE id = $1"
DELETE_OLD_UPLOAD_ATTEMPTS = (
    "DELETE FROM upload_attempts WHERE created_at < now() - make_interval(secs => $1)"
)
INSERT_UPLOAD = f"""
INSERT INTO uploads (id, api_key_id, content_type, width, height, bytes, sha256, thumb_width,
                     thumb_height, thumb_bytes, thumb_sha256, received_bytes, storage_key,
                     customer_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
RETURNING {UPLOAD_COLUMNS}
"""
SELECT_UPLOAD = f"SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = $1"
# publishJob locks the uploads it attaches, so that a concurrent publish of the same upload, or
# the purge, waits for this transaction and then sees the upload taken (or gone).
# Locked in id order, so that two publishes naming the same uploads cannot deadlock.
LOCK_UPLOADS_FOR_ATTACH = """
SELECT id, api_key_id, customer_id, job_id,
       job_id IS NULL AND created_at < now() - make_interval(secs => $2) AS expired
  FROM uploads WHERE id = ANY($1::uuid[])
 ORDER BY id
   FOR UPDATE
"""
ATTACH_UPLOADS = """
UPDATE uploads AS u
   SET job_id = $1, position = p.ord - 1, attached_at = now()
  FROM unnest($2::uuid[]) WITH ORDINALITY AS p (id, ord)
 WHERE u.id = p.id AND u.job_id IS NULL
   AND (u.api_key_id = $3 OR u.customer_id = $4)
"""
# An update that replaces a job's photos lets go of the old ones first; those it does not list
# again stay unattached, and the upload purge deletes them with their bytes.
DETACH_JOB_UPLOADS = """
UPDATE uploads SET job_id = NULL, position = NULL, attached_at = NULL WHERE job_id = $1
"""
SELECT_PHOTOS_BY_JOB_IDS = f"""
SELECT {UPLOAD_COLUMNS} FROM uploads WHERE job_id = ANY($1::uuid[]) ORDER BY job_id, position
"""
# Oldest first, a batch at a time; SKIP LOCKED leaves uploads a publishJob is attaching right
# now to that publishJob (it has them locked), and lets two purges run at once.
LOCK_EXPIRED_UPLOADS = """
SELECT id, storage_key FROM uploads
 WHERE job_id IS NULL AND created_at < now() - make_interval(secs => $1)
 ORDER BY created_at
 LIMIT $2
   FOR UPDATE SKIP LOCKED
"""
DELETE_UPLOADS = "DELETE FROM uploads WHERE id = ANY($1::uuid[])"


@dataclass(frozen=True, slots=True)
class UploadRecord:
    id: UUID
    api_key_id: UUID | None  # who uploaded it: an API key, or else a customer
    customer_id: UUID | None
    content_type: str
    width: int
    height: int
    bytes: int
    sha256: str
    thumb_width: int
    thumb_height: int
    thumb_bytes: int
    thumb_sha256: str
    received_bytes: int
    storage_key: str
    created_at: datetime
    job_id: UUID | None
    position: int | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> UploadRecord:
        return cls(**{f.name: row[f.name] for f in fields(cls)})

    @property
    def thumb_storage_key(self) -> str:
        return thumbnail_key(self.storage_key)


@dataclass(frozen=True, slots=True)
class Uploader:
    """Who uploads: an API key, or a customer (by their row's id)."""

    api_key_id: UUID | None = None
    customer_id: UUID | None = None

    @property
    def id(self) -> UUID:
        found = self.api_key_id or self.customer_id
        assert found is not None, "an upload has an owner"
        return found


@dataclass(frozen=True, slots=True)
class NewRendition:
    """One encoded rendition to store (what `media` produced)."""

    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str


@dataclass(frozen=True, slots=True)
class UploadUsage:
    uploads: int
    received_bytes: int
    oldest_age: timedelta


async def upload_usage(db: Executor, *, uploader: Uploader, window: timedelta) -> UploadUsage:
    by_key = uploader.api_key_id is not None
    usage = SELECT_UPLOAD_USAGE if by_key else SELECT_CUSTOMER_UPLOAD_USAGE
    row = await db.fetchrow(usage, uploader.id, window.total_seconds())
    assert row is not None  # an aggregate always yields a row
    return UploadUsage(row["uploads"], row["received_bytes"], timedelta(seconds=row["oldest_age"]))


async def check_upload_quota(
    db: Executor, *, uploader: Uploader, quota: UploadQuota, incoming_bytes: int
) -> None:
    """RATE_LIMITED when the uploader has no room for an upload of `incoming_bytes`: asked
    before the body is read, so a caller past its quota costs no decoding."""
    usage = await upload_usage(db, uploader=uploader, window=quota.window)
    quota.check(
        used_uploads=usage.uploads,
        used_bytes=usage.received_bytes,
        incoming_bytes=incoming_bytes,
        oldest_age=usage.oldest_age,
    )


async def claim_upload_attempt(
    pool: asyncpg.Pool, *, uploader: Uploader, quota: UploadQuota, incoming_bytes: int
) -> UUID:
    """RATE_LIMITED when the uploader has no room for one more upload of `incoming_bytes`;
    else the attempt is counted against the quota now, before its body is read or decoded,
    whatever comes of it: `save_upload` replaces it with the stored upload, and a refused one
    stays counted for the window. Under the per-owner lock, so that uploads sent at once cannot
    each see the same room."""
    attempt_id = uuid4()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(LOCK_UPLOAD_QUOTA, UPLOAD_QUOTA_LOCK_CLASS, str(uploader.id))
        await check_upload_quota(
            conn, uploader=uploader, quota=quota, incoming_bytes=incoming_bytes
        )
        await conn.execute(
            INSERT_UPLOAD_ATTEMPT,
            attempt_id,
            uploader.api_key_id,
            uploader.customer_id,
            max(incoming_bytes, 1),
        )
    return attempt_id


async def save_upload(
    pool: asyncpg.Pool,
    store: MediaStore,
    *,
    uploader: Uploader,
    image: NewRendition,
    thumbnail: NewRendition,
    received_bytes: int,
    quota: UploadQuota,
    attempt_id: UUID | None = None,
) -> UploadRecord:
    """Store an upload's bytes and its row, within the uploader's quota (checked again here,
    under a per-owner lock), in place of its claimed attempt `attempt_id`. The bytes go first;
    should the row not follow, they are deleted again, so nothing is left half-stored."""
    upload_id = uuid4()
    image_key, thumb_key = storage_keys(upload_id)
    await store.put(
        [
            Blob(image_key, image.content_type, image.data),
            Blob(thumb_key, thumbnail.content_type, thumbnail.data),
        ]
    )
    try:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(LOCK_UPLOAD_QUOTA, UPLOAD_QUOTA_LOCK_CLASS, str(uploader.id))
            if attempt_id is not None:  # counted once: as the upload from here on
                await conn.execute(DELETE_UPLOAD_ATTEMPT, attempt_id)
            await check_upload_quota(
                conn, uploader=uploader, quota=quota, incoming_bytes=received_bytes
            )
            row = await conn.fetchrow(
                INSERT_UPLOAD,
                upload_id,
                uploader.api_key_id,
                image.content_type,
                image.width,
                image.height,
                len(image.data),
                image.sha256,
                thumbnail.width,
                thumbnail.height,
                len(thumbnail.data),
                thumbnail.sha256,
                received_bytes,
                image_key,
                uploader.customer_id,
            )
    except BaseException:
        await store.delete([image_key, thumb_key])
        raise
    assert row is not None  # INSERT ... RETURNING always yields the row
    return UploadRecord.from_row(row)


async def fetch_upload(db: Executor, *, upload_id: UUID) -> UploadRecord | None:
    row = await db.fetchrow(SELECT_UPLOAD, upload_id)
    return None if row is None else UploadRecord.from_row(row)


async def lock_uploads_for_attach(
    conn: Connection, *, ids: Sequence[UUID], ttl: timedelta = UNATTACHED_TTL
) -> dict[UUID, UploadOwner]:
    """Who owns each of `ids` and where it is attached, locked until the caller's transaction
    ends. An expired upload (due for the purge) is left out: it reads as unknown."""
    rows = await conn.fetch(LOCK_UPLOADS_FOR_ATTACH, list(ids), ttl.total_seconds())
    return {
        row["id"]: UploadOwner(
            api_key_id=row["api_key_id"], job_id=row["job_id"], customer_id=row["customer_id"]
        )
        for row in rows
        if not row["expired"]
    }


async def attach_uploads(
    conn: Connection,
    *,
    job_id: UUID,
    ids: Sequence[UUID],
    api_key_id: UUID | None,
    customer_id: UUID | None = None,
) -> int:
    """Attach `ids` to `job_id` in their order; how many were attached. Call inside the job's
    transaction, after `lock_uploads_for_attach` and `domain.uploads.check_attachable`."""
    if not ids:
        return 0
    status = await conn.execute(ATTACH_UPLOADS, job_id, list(ids), api_key_id, customer_id)
    return int(status.split()[-1])


async def attach_photos(
    conn: Connection,
    *,
    job_id: UUID,
    ids: Sequence[UUID],
    api_key_id: UUID | None,
    customer_id: UUID | None = None,
    replace: bool = False,
) -> None:
    """Attach uploads `ids` to job `job_id`, in order, inside the job's transaction;
    BAD_USER_INPUT at `photoIds` (and so nothing stored) when one is not the caller's to
    attach. With `replace`, the job's photos become exactly `ids` (an update)."""
    if not ids and not replace:
        return
    found = await lock_uploads_for_attach(conn, ids=ids) if ids else {}
    check_attachable(
        ids,
        found,
        api_key_id=api_key_id,
        customer_id=customer_id,
        job_id=job_id if replace else None,
    )
    if replace:
        await conn.execute(DETACH_JOB_UPLOADS, job_id)
    attached = await attach_uploads(
        conn, job_id=job_id, ids=ids, api_key_id=api_key_id, customer_id=customer_id
    )
    assert attached == len(ids)  # every one was checked under its row lock


async def fetch_photos_by_job_ids(
    db: Executor, *, job_ids: Sequence[UUID]
) -> dict[UUID, list[UploadRecord]]:
    """Each job's photos in their order (a job without photos is absent)."""
    photos: dict[UUID, list[UploadRecord]] = {}
    for row in await db.fetch(SELECT_PHOTOS_BY_JOB_IDS, list(job_ids)):
        photos.setdefault(row["job_id"], []).append(UploadRecord.from_row(row))
    return photos


async def purge_expired_uploads(
    pool: asyncpg.Pool,
    store: MediaStore,
    *,
    ttl: timedelta = UNATTACHED_TTL,
    batch_size: int = 500,
) -> int:
    """Delete uploads left unattached for longer than `ttl`, with their bytes; how many went.
    Upload attempts older than `ttl` go too (the quota's window is far shorter).

    Each batch stays locked while its bytes are deleted, then its rows go in the same
    transaction: a publishJob cannot attach an upload whose bytes are going. Should the rows
    outlive their bytes (a crash in between), they are expired, so no job takes them, and the
    next purge finishes them."""
    await pool.execute(DELETE_OLD_UPLOAD_ATTEMPTS, ttl.total_seconds())
    purged = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(LOCK_EXPIRED_UPLOADS, ttl.total_seconds(), batch_size)
            if not rows:
                return purged
            keys = [
                k for row in rows for k in (row["storage_key"], thumbnail_key(row["storage_key"]))
            ]
            await store.delete(keys)
            await conn.execute(DELETE_UPLOADS, [row["id"] for row in rows])
        purged += len(rows)
        if len(rows) < batch_size:
            return purged
