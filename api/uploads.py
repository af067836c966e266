"""POST /uploads (one photo a request) and GET /media/{id}[/thumb] (its bytes).

Errors answer in the GraphQL shape, `{"errors": [{"message", "extensions": {"code"}}]}`, so a
client reads them the way it reads /graphql's.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import anyio
import asyncpg
import orjson
from starlette.requests import Request
from starlette.responses import Response

from api.http_errors import HTTPError
from api.upload_body import receive_file
from config import Settings
from context.auth import RequestAuth, bearer_token
from db.errors import is_transient
from db.media_store import MediaStore
from db.uploads import (
    NewRendition,
    UploadRecord,
    UrlSigningSecret,
    claim_upload_attempt,
    fetch_upload,
    save_upload,
)
from domain.api_keys import JOBS_WRITE
from domain.errors import (
    DomainError,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
    UnauthenticatedError,
    UploadRejectedError,
)
from domain.media_urls import Variant, sign, verify
from domain.uploads import UploadQuota, may_read_upload
from media.images import ImageLimits, ProcessedImage, Rendition, process_image

JSON = "application/json"
# The bytes under a media URL never change (a new photo is a new upload), so browsers and
# proxies may keep them for a year without asking again; `private` because they are a
# customer's photos, shown to whoever the job's read rules allow, not to everyone.
IMMUTABLE = "private, max-age=31536000, immutable"
_STATUS: dict[type[DomainError], tuple[int, str]] = {
    UnauthenticatedError: (401, "UNAUTHENTICATED"),
    ForbiddenError: (403, "FORBIDDEN"),
    NotFoundError: (404, "NOT_FOUND"),
    RateLimitedError: (429, "RATE_LIMITED"),
    ServiceUnavailableError: (503, "SERVICE_UNAVAILABLE"),
}


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
    # uploads in flight (the rest wait with their bytes spooled, mostly on disk).
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


def _json(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON, headers=headers)


def _error(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}


def _error_response(exc: Exception) -> Response:
    if isinstance(exc, HTTPError):
        extra = {} if exc.limit is None else {"limit": exc.limit}
        body = _error(exc.message, exc.code, **extra)
        return _json(body, exc.status, exc.headers)
    if isinstance(exc, UploadRejectedError):
        return _json(_error(str(exc), exc.code, reason=exc.reason), exc.status)
    if isinstance(exc, DomainError):
        for kind, (status, code) in _STATUS.items():
            if isinstance(exc, kind):
                headers = {}
                if isinstance(exc, RateLimitedError):
                    headers["Retry-After"] = str(exc.retry_after)
                if isinstance(exc, UnauthenticatedError):
                    headers["WWW-Authenticate"] = "Bearer"
                return _json(_error(str(exc), code), status, headers)
    raise exc


def _services(request: Request) -> tuple[asyncpg.Pool, UploadService]:
    pool: asyncpg.Pool = request.state.app_state.pool
    uploads: UploadService | None = request.state.http_state.uploads
    if uploads is None:
        raise ServiceUnavailableError("Photos are not available on this server.")
    return pool, uploads


def _rendition(rendition: Rendition) -> NewRendition:
    return NewRendition(
        data=rendition.data,
        content_type=rendition.content_type,
        width=rendition.width,
        height=rendition.height,
        sha256=rendition.sha256,
    )


async def upload(request: Request) -> Response:
    """Take one photo: check the key and its quota, stream the body (bounded), decode and
    re-encode it, store it. Answers 201 with what the photo became."""
    try:
        pool, service = _services(request)
        auth = RequestAuth(pool, bearer_token(request.headers))
        caller = await auth.require(JOBS_WRITE)
        declared = request.headers.get("content-length", "")
        attempt = await claim_upload_attempt(
            pool,
            api_key_id=caller.id,
            quota=service.quota,
            incoming_bytes=min(int(declared), service.max_bytes) if declared.isdigit() else 1,
        )
        received = await receive_file(request, max_bytes=service.max_bytes)
        try:
            processed: ProcessedImage = await anyio.to_thread.run_sync(
                functools.partial(process_image, received.file, limits=service.limits),
                limiter=service.processing,
            )
        finally:
            received.close()
        record = await save_upload(
            pool,
            service.store,
            api_key_id=caller.id,
            image=_rendition(processed.image),
            thumbnail=_rendition(processed.thumbnail),
            received_bytes=received.size,
            quota=service.quota,
            attempt_id=attempt,
        )
        body = {
            "id": str(record.id),
            "width": record.width,
            "height": record.height,
            "bytes": record.bytes,
            "contentType": record.content_type,
            "url": await service.signed(record.id, Variant.IMAGE),
            "thumbnailUrl": await service.signed(record.id, Variant.THUMB),
        }
    except (HTTPError, DomainError) as exc:
        return _error_response(exc)
    except Exception as exc:
        if is_transient(exc):
            return _error_response(
                ServiceUnavailableError("The upload could not be stored right now; retry.")
            )
        raise
    return _json(body, 201, {"Location": f"/media/{record.id}"})


async def media(request: Request) -> Response:
    """An upload's image (`/media/{id}`) or thumbnail (`/media/{id}/thumb`), to a signed URL or
    to an API key that may read it."""
    variant = Variant.THUMB if request.url.path.endswith("/thumb") else Variant.IMAGE
    try:
        pool, service = _services(request)
        upload_id = _upload_id(request.path_params.get("id", ""))
        record = await fetch_upload(pool, upload_id=upload_id)
        if record is None:
            raise NotFoundError("No such photo.")
        await _authorize(request, pool, service, record, variant)
        etag = f'"{record.sha256 if variant is Variant.IMAGE else record.thumb_sha256}"'
        headers = {
            "ETag": etag,
            "Cache-Control": IMMUTABLE,
            "X-Content-Type-Options": "nosniff",
            # Served bytes are images only; nothing in them may run or load anything.
            "Content-Security-Policy": "default-src 'none'; sandbox",
        }
        if etag in _etags(request.headers.get("if-none-match", "")):
            return Response(status_code=304, headers=headers)
        key = record.storage_key if variant is Variant.IMAGE else record.thumb_storage_key
        blob = await service.store.get(key)
        if blob is None:  # purged between the two reads
            raise NotFoundError("No such photo.")
    except (HTTPError, DomainError) as exc:
        return _error_response(exc)
    except Exception as exc:
        if is_transient(exc):
            return _error_response(ServiceUnavailableError("Photos cannot be read right now."))
        raise
    return Response(blob.data, media_type=blob.content_type, headers=headers)


def _upload_id(raw: str) -> UUID:
    try:
        if len(raw) <= 36:
            return UUID(raw)
    except ValueError:
        pass
    raise NotFoundError("No such photo.")


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header[:1024].split(",")}


async def _authorize(
    request: Request,
    pool: asyncpg.Pool,
    service: UploadService,
    record: UploadRecord,
    variant: Variant,
) -> None:
    params = request.query_params
    if "signature" in params and verify(
        await service.url_secret.get(),
        record.id,
        variant,
        expires=params.get("expires"),
        signature=params.get("signature"),
        now=time.time(),
    ):
        return
    token = bearer_token(request.headers)
    if token is None and "signature" in params:
        raise ForbiddenError("This link has expired or is not valid; ask for the job again.")
    caller = await RequestAuth(pool, token).require_key()
    if not may_read_upload(caller, uploader_id=record.api_key_id, job_id=record.job_id):
        raise ForbiddenError(
            "This API key may see only the photos of jobs it published (or needs jobs:read)."
        )
