"""Uploads in PostgreSQL: the media store, the hourly quota under concurrency, attaching to a job
in its transaction, and the purge of what nobody attached (bytes included)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from uuid import UUID, uuid4

import asyncpg
import pytest

from db.media_store import Blob, PostgresMediaStore
from db.uploads import (
    NewRendition,
    Uploader,
    UploadRecord,
    attach_uploads,
    claim_upload_attempt,
    fetch_photos_by_job_ids,
    fetch_upload,
    lock_uploads_for_attach,
    purge_expired_uploads,
    save_upload,
)
from db.url_signing import UrlSigningSecret, fetch_url_signing_secret
from domain.errors import BadUserInputError, ServiceUnavailableError
from domain.uploads import RateLimitedError, UploadQuota, check_attachable, storage_keys
from tests.support.keys import IssuedKey

MakeKey = Callable[..., Awaitable[IssuedKey]]
ROOMY = UploadQuota(max_uploads=1000, max_bytes=1 << 40)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=10)
    try:
        yield pool
    finally:
        await pool.close()


def _rendition(data: bytes, size: tuple[int, int] = (640, 480)) -> NewRendition:
    return NewRendition(
        data=data,
        content_type="image/jpeg",
        width=size[0],
        height=size[1],
        sha256=hashlib.sha256(data).hexdigest(),
    )


async def _upload(
    pool: asyncpg.Pool, key: IssuedKey, quota: UploadQuota = ROOMY, received: int = 1000
) -> UploadRecord:
    return await save_upload(
        pool,
        PostgresMediaStore(pool),
        uploader=Uploader(api_key_id=key.id),
        image=_rendition(b"image-" + uuid4().bytes),
        thumbnail=_rendition(b"thumb-" + uuid4().bytes, (320, 240)),
        received_bytes=received,
        quota=quota,
    )


async def _job(pool: asyncpg.Pool, key: IssuedKey) -> UUID:
    job_id: UUID = await pool.fetchval(
        "INSERT INTO jobs (micro_id, answers, api_key_id) VALUES ('wall-painting', '{}', $1)"
        " RETURNING id",
        key.id,
    )
    return job_id


async def _blob_count(pool: asyncpg.Pool, record: UploadRecord) -> int:
    count: int = await pool.fetchval(
        "SELECT count(*) FROM media_blobs WHERE key = ANY($1::text[])",
        list(storage_keys(record.id)),
    )
    return count


async def test_migration_adds_the_location_columns_and_district_index(pool: asyncpg.Pool) -> None:
    columns = {
        row["column_name"]: row["is_nullable"]
        for row in await pool.fetch(
            "SELECT column_name, is_nullable FROM information_schema.columns"
            " WHERE table_name = 'jobs'"
        )
    }
    for name in ("postcode", "postcode_district", "postcode_area", "address_line"):
        assert columns[name] == "YES"
    index = await pool.fetchval(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'jobs_postcode_district_idx'"
    )
    assert "(postcode_district)" in index


async def test_media_store_round_trip_and_all_or_nothing_put(pool: asyncpg.Pool) -> None:
    store = PostgresMediaStore(pool)
    key = f"test/{uuid4()}"
    await store.put([Blob(key, "image/png", b"\x89PNG...")])
    assert await store.get(key) == Blob(key, "image/png", b"\x89PNG...")
    fresh = f"test/{uuid4()}"
    with pytest.raises(asyncpg.UniqueViolationError):
        await store.put([Blob(fresh, "image/png", b"a"), Blob(key, "image/png", b"b")])
    assert await store.get(fresh) is None  # blobs are immutable; a clash stores nothing
    assert await store.delete([key, fresh]) == 1
    assert await store.get(key) is None
    assert await store.delete([]) == 0


async def test_save_upload_stores_the_row_and_both_renditions(
    pool: asyncpg.Pool, make_api_key: MakeKey
) -> None:
    key = await make_api_key("jobs:write")
    record = await _upload(pool, key, received=12_345)
    assert await fetch_upload(pool, upload_id=record.id) == record
    assert (record.api_key_id, record.job_id, record.received_bytes) == (key.id, None, 12_345)
    store = PostgresMediaStore(pool)
    image = await store.get(record.storage_key)
    thumb = await store.get(record.thumb_storage_key)
    assert image is not None
    assert thumb is not None
    assert hashlib.sha256(image.data).hexdigest() == record.sha256
    assert hashlib.sha256(thumb.data).hexdigest() == record.thumb_sha256
    assert (record.thumb_width, record.thumb_height) == (320, 240)


async def test_quota_refuses_the_upload_past_the_count_and_stores_nothing(
    pool: asyncpg.Pool, make_api_key: MakeKey
) -> None:
    key, other = await make_api_key("jobs:write"), await make_api_key("jobs:write")
    quota = UploadQuota(max_uploads=2, max_bytes=1 << 30)
    await _upload(pool, key, quota)
    await _upload(pool, key, quota)
    blobs_before = await pool.fetchval("SELECT count(*) FROM media_blobs")
    with pytest.raises(RateLimitedError) as caught:
        await _upload(pool, key, quota)
    assert 3500 <= caught.value.retry_after <= 3600
    assert await pool.fetchval("SELECT count(*) FROM media_blobs") == blobs_before
    count = await pool.fetchval("SELECT count(*) FROM uploads WHERE api_key_id = $1", key.id)
    assert count == 2
    await _upload(pool, other, quota)  # the quota is per key


async def test_quota_counts_received_bytes(pool: asyncpg.Pool, make_api_key: MakeKey) -> None:
    key = await make_api_key("jobs:write")
    quota = UploadQuota(max_uploads=100, max_bytes=10_000)
    await _upload(pool, key, quota, received=6_000)
    with pytest.raises(RateLimitedError):
        await _upload(pool, key, quota, received=6_000)
    await _upload(pool, key, quota, received=4_000)


async def test_concurrent_uploads_cannot_overrun_the_quota(
    pool: asyncpg.Pool, make_api_key: MakeKey
) -> None:
    key = await make_api_key("jobs:write")
    quota = UploadQuota(max_uploads=3, max_bytes=1 << 30)
    results = await asyncio.gather(
        *(_upload(pool, key, quota) for _ in range(8)), return_exceptions=True
    )
    assert sum(isinstance(r, UploadRecord) for r in results) == 3
    assert sum(isinstance(r, RateLimitedError) for r in results) == 5
    count = await pool.fetchval("SELECT count(*) FROM uploads WHERE api_key_id = $1", key.id)
    assert count == 3


async def _attach(pool: asyncpg.Pool, key: IssuedKey, job_id: UUID, ids: list[UUID]) -> int:
    async with pool.acquire() as conn, conn.transaction():
        found = await lock_uploads_for_attach(conn, ids=ids)
        check_attachable(ids, found, api_key_id=key.id)
        return await attach_uploads(conn, job_id=job_id, ids=ids, api_key_id=key.id)


async def test_uploads_attach_to_a_job_in_order_and_only_once(
    pool: asyncpg.Pool, make_api_key: MakeKey
) -> None:
    key = await make_api_key("jobs:write")
    uploads = [await _upload(pool, key) for _ in range(3)]
    job_id, second_job = await _job(pool, key), await _job(pool, key)
    ids = [uploads[2].id, uploads[0].id, uploads[1].id]
    assert await _attach(pool, key, job_id, ids) == 3
    photos = await fetch_photos_by_job_ids(pool, job_ids=[job_id, second_job])
    assert [p.id for p in photos[job_id]] == ids
    assert [p.position for p in photos[job_id]] == [0, 1, 2]
    assert second_job not in photos
    with pytest.raises(BadUserInputError) as caught:
        await _attach(pool, key, second_job, [uploads[0].id])
    assert caught.value.fields == {"photoIds": "Photo 1 is already attached to another job."}


async def test_another_keys_upload_cannot_be_attached(
    pool: asyncpg.Pool, make_api_key: MakeKey
) -> None:
    mine, theirs = await make_api_key("jobs:write"), await make_api_key("jobs:write")
    their_upload = await _upload(pool, theirs)
    job_id = await _job(pool, mine)
    with pytest.raises(BadUserInputError) as caught:
        await _attach(pool, mine, job_id, [their_upload.id])
    assert caught.value.fields == {"photoIds": "Photo 1 is not an upload of yours."}
    assert (await fetch_upload(pool, upload_id=their_upload.id)) == their_upload


async def _age(pool: asyncpg.Pool, record: UploadRecord, hours: float) -> None:
    await pool.execute(
        "UPDATE uploads SET created_at = now() - make_interval(secs => $2) WHERE id = $1",
        record.id,
        hours * 3600,
    )


async def test_an_expired_upload_reads_as_unknown_to_publish(
    pool: asyncpg.Pool, make_api_key: MakeKey
) -> None:
    key = await make_api_key("jobs:write")
    record = await _upload(pool, key)
    await _age(pool, record, 25)
    with pytest.raises(BadUserInputError):
        await _attach(pool, key, await _job(pool, key), [record.id])


async def test_purge_deletes_old_unattached_uploads_with_their_bytes(
    pool: asyncpg.Pool, make_api_key: MakeKey
) -> None:
    key = await make_api_key("jobs:write")
    old, attached_old, fresh = [await _upload(pool, key) for _ in range(3)]
    await _attach(pool, key, await _job(pool, key), [attached_old.id])
    for record in (old, attached_old):
        await _age(pool, record, 25)
    store = PostgresMediaStore(pool)
    assert await purge_expired_uploads(pool, store, batch_size=1) >= 1
    assert await fetch_upload(pool, upload_id=old.id) is None
    assert await _blob_count(pool, old) == 0
    for kept in (attached_old, fresh):
        assert await fetch_upload(pool, upload_id=kept.id) is not None
        assert await _blob_count(pool, kept) == 2
    assert await purge_expired_uploads(pool, store) == 0


async def test_purge_skips_an_upload_a_publish_is_attaching(
    pool: asyncpg.Pool, make_api_key: MakeKey
) -> None:
    key = await make_api_key("jobs:write")
    record = await _upload(pool, key)
    await _age(pool, record, 23.99)
    job_id = await _job(pool, key)
    async with pool.acquire() as conn, conn.transaction():
        found = await lock_uploads_for_attach(conn, ids=[record.id])
        check_attachable([record.id], found, api_key_id=key.id)
        # Past the purge's age, but locked by this publish: SKIP LOCKED leaves it alone.
        await purge_expired_uploads(pool, PostgresMediaStore(pool), ttl=timedelta(hours=23))
        assert await fetch_upload(pool, upload_id=record.id) is not None
        await attach_uploads(conn, job_id=job_id, ids=[record.id], api_key_id=key.id)
    attached = await fetch_upload(pool, upload_id=record.id)
    assert attached is not None
    assert attached.job_id == job_id
    assert await _blob_count(pool, record) == 2


async def test_the_media_url_secret_is_random_and_made_once(pool: asyncpg.Pool) -> None:
    secret = await fetch_url_signing_secret(pool)
    assert len(secret) == 32
    assert secret != bytes(32)
    assert await fetch_url_signing_secret(pool) == secret
    with pytest.raises(LookupError, match="run the migrations"):
        await fetch_url_signing_secret(pool, name="nothing")


async def test_the_url_secret_is_read_once_and_missing_means_unavailable(
    pool: asyncpg.Pool,
) -> None:
    secret = UrlSigningSecret(pool)
    first = await secret.get()
    assert first == await fetch_url_signing_secret(pool)
    assert await secret.get() is first  # kept: no second read
    with pytest.raises(ServiceUnavailableError, match="not available yet"):
        await UrlSigningSecret(pool, name="nothing").get()


async def test_concurrent_claims_each_count_and_old_ones_are_purged(
    pool: asyncpg.Pool, make_api_key: MakeKey
) -> None:
    key = await make_api_key("jobs:write")
    quota = UploadQuota(max_uploads=3, max_bytes=1 << 30)

    async def claim() -> UUID | None:
        try:
            return await claim_upload_attempt(
                pool, uploader=Uploader(api_key_id=key.id), quota=quota, incoming_bytes=1000
            )
        except RateLimitedError:
            return None

    # Sent at once, none decoded yet: the lock lets exactly the quota's worth through.
    claimed = [c for c in await asyncio.gather(*(claim() for _ in range(8))) if c is not None]
    assert len(claimed) == 3
    await pool.execute(
        "UPDATE upload_attempts SET created_at = now() - interval '25 hours' WHERE id = $1",
        claimed[0],
    )
    await purge_expired_uploads(pool, PostgresMediaStore(pool))
    left = await pool.fetch("SELECT id FROM upload_attempts WHERE api_key_id = $1", key.id)
    assert {row["id"] for row in left} == set(claimed[1:])
