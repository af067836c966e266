"""Photo uploads behind `POST /uploads` and `GET /media/{id}`: who may upload or read, the
hourly quota, decoding and storing. The HTTP side (reading the body, caching headers, the
response) is `api/uploads.py`'s."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import IO, NamedTuple
from uuid import UUID

import anyio
import asyncpg

from config import Settings
from context.auth import RequestAuth
from db.customers import ensure_customer, find_customer
from db.media_store import Blob, MediaStore
from db.uploads import (
    NewRendition,
    Uploader,
    UploadRecord,
    claim_upload_attempt,
    fetch_upload,
    save_upload,
)
from db.url_signing import UrlSigningSecret
from domain.api_keys import JOBS_WRITE
from domain.customers import Customer
from domain.errors import ForbiddenError, NotFoundError
from domain.media_urls import Variant, sign, verify
from domain.uploads import UploadQuota, may_read_upload
from media.images import ImageLimits, ProcessedImage, Rendition, process_image


@dataclass(frozen=True, slots=True)
class UploadService:
    """What the upload and media endpoints share across requests."""

    store: MediaStore
    url_secret: UrlSigningSecret  # signs media URLs
    quota: UploadQuota
    max_bytes: int = 10 * 1024 * 1024
    url_ttl: int = 3600
    limits: ImageLimits = field(default_factory=ImageLimits)
    # Decoding is CPU and memory: at most this many images at once, whatever the number of
    # uploads in flight (the rest wait with their bytes spooled: in memory within the
    # process's budget for bodies, on disk past it).
    processing: anyio.CapacityLimiter = field(default_factory=lambda: anyio.CapacityLimiter(2))

    @classmethod
    def from_settings(
        cls, settings: Settings, store: MediaStore, url_secret: UrlSigningSecret
    ) -> UploadService:
        return cls(
            store=store,
            url_secret=url_secret,
            quota=UploadQuota(
                max_uploads=settings.upload_quota_uploads, max_bytes=settings.upload_quota_bytes
            ),
            max_bytes=settings.upload_max_bytes,
            url_ttl=settings.media_url_ttl,
            processing=anyio.CapacityLimiter(settings.upload_processing),
        )

    async def signed(self, upload_id: UUID, variant: Variant) -> str:
        secret = await self.url_secret.get()
        return str(sign(secret, upload_id, variant, now=time.time(), ttl=self.url_ttl))


class Admitted(NamedTuple):
    """A caller let in to upload, and the attempt counted against its quota."""

    caller: Uploader
    attempt: UUID


async def admit_upload(
    pool: asyncpg.Pool,
    service: UploadService,
    *,
    auth: RequestAuth,
    declared_bytes: int | None,
) -> Admitted:
    """The caller, if it may upload (a signed-in customer, or a key with jobs:write) and its
    hourly quota has room for the declared size (or for one byte when the size is not
    declared); before any of the body is read. The attempt counts against the quota from now
    on, whether or not the photo is then taken."""
    principal = await auth.principal()
    if isinstance(principal, Customer):
        uploader = Uploader(customer_id=await ensure_customer(pool, principal))
    else:
        uploader = Uploader(api_key_id=(await auth.require(JOBS_WRITE)).id)
    incoming = 1 if declared_bytes is None else min(declared_bytes, service.max_bytes)
    attempt = await claim_upload_attempt(
        pool, uploader=uploader, quota=service.quota, incoming_bytes=incoming
    )
    return Admitted(uploader, attempt)


async def store_upload(
    pool: asyncpg.Pool,
    service: UploadService,
    *,
    admitted: Admitted,
    file: IO[bytes],
    received_bytes: int,
) -> UploadRecord:
    """Decode `file` and re-encode it (without metadata) with its thumbnail, then store both
    against the caller's quota."""
    processed: ProcessedImage = await anyio.to_thread.run_sync(
        functools.partial(process_image, file, limits=service.limits),
        limiter=service.processing,
    )
    return await save_upload(
        pool,
        service.store,
        uploader=admitted.caller,
        image=_rendition(processed.image),
        thumbnail=_rendition(processed.thumbnail),
        received_bytes=received_bytes,
        quota=service.quota,
        attempt_id=admitted.attempt,
    )


async def readable_upload(
    pool: asyncpg.Pool,
    service: UploadService,
    *,
    upload_id: UUID,
    variant: Variant,
    auth: RequestAuth,
    expires: str | None,
    signature: str | None,
) -> UploadRecord:
    """The upload, if a valid signature for this variant or an API key that may read it was
    presented; NotFoundError, ForbiddenError or UnauthenticatedError otherwise."""
    record = await fetch_upload(pool, upload_id=upload_id)
    if record is None:
        raise NotFoundError("No such photo.")
    if signature is not None and verify(
        await service.url_secret.get(),
        record.id,
        variant,
        expires=expires,
        signature=signature,
        now=time.time(),
    ):
        return record
    if not auth.presented and signature is not None:
        raise ForbiddenError("This link has expired or is not valid; ask for the job again.")
    principal = await auth.principal()
    if isinstance(principal, Customer):
        # A customer reads their own uploads; their jobs' photos come with signed URLs.
        if record.customer_id is None or record.customer_id != await find_customer(pool, principal):
            raise NotFoundError("No such photo.")
        return record
    caller = await auth.require_key()
    if not may_read_upload(caller, uploader_id=record.api_key_id):
        raise ForbiddenError("This API key may see only the photos it uploaded.")
    return record


async def upload_bytes(service: UploadService, record: UploadRecord, variant: Variant) -> Blob:
    """The stored image or thumbnail of `record`."""
    key = record.storage_key if variant is Variant.IMAGE else record.thumb_storage_key
    blob = await service.store.get(key)
    if blob is None:  # purged between the two reads
        raise NotFoundError("No such photo.")
    return blob


def _rendition(rendition: Rendition) -> NewRendition:
    return NewRendition(
        data=rendition.data,
        content_type=rendition.content_type,
        width=rendition.width,
        height=rendition.height,
        sha256=rendition.sha256,
    )
