"""POST /uploads (one photo a request) and GET /media/{id}[/thumb] (its bytes): HTTP only.

Who may upload or read, the quota, decoding and storage are `resolvers/uploads.py`'s. A presented
key is checked as /graphql checks it: through the process's key cache, behind the client's
budget of unknown tokens (api/rate_limits.py), so a flood of made-up keys costs no query each.
Errors
answer in the GraphQL shape, `{"errors": [{"message", "extensions": {"code"}}]}`, so a client
reads them the way it reads /graphql's.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import orjson
from starlette.requests import Request
from starlette.responses import Response

from api.http_errors import HTTPError
from api.rate_limit_callers import client_address, screen_token
from api.rate_limits import RateLimits
from api.upload_body import receive_file
from context.auth import RequestAuth, bearer_token
from db.errors import is_transient
from domain.errors import (
    DomainError,
    NotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
    UnauthenticatedError,
    UploadRejectedError,
)
from domain.media_urls import Variant
from resolvers.uploads import (
    UploadService,
    admit_upload,
    readable_upload,
    store_upload,
    upload_bytes,
)
from schema.codes import CODES, code_of

__all__ = ["UploadService", "media", "upload"]

JSON = "application/json"
# The bytes under a media URL never change (a new photo is a new upload), so browsers and
# proxies may keep them for a year without asking again; `private` because they are a
# customer's photos, shown to whoever the job's read rules allow, not to everyone.
IMMUTABLE = "private, max-age=31536000, immutable"


def _json(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON, headers=headers)


def _error(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}


def _error_response(exc: HTTPError | DomainError) -> Response:
    """The refusal's answer; its code and status from the one table, by the error's type."""
    entry = code_of(type(exc))
    if entry is None:
        raise exc
    extensions: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(exc, HTTPError):
        headers.update(exc.headers)
        if exc.limit is not None:
            extensions["limit"] = exc.limit
    if isinstance(exc, UploadRejectedError):
        extensions["reason"] = exc.reason
    if isinstance(exc, RateLimitedError):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, UnauthenticatedError):
        headers["WWW-Authenticate"] = "Bearer"
    return _json(_error(str(exc), entry.code, **extensions), entry.status, headers)


def _services(request: Request) -> tuple[asyncpg.Pool, UploadService]:
    pool: asyncpg.Pool = request.state.app_state.pool
    uploads: UploadService | None = request.state.http_state.uploads
    if uploads is None:
        raise ServiceUnavailableError("Photos are not available on this server.")
    return pool, uploads


def _auth(request: Request, pool: asyncpg.Pool) -> RequestAuth:
    state = request.state.app_state
    return RequestAuth(pool, bearer_token(request.headers), state.keys, tokens=state.tokens)


async def _screened(request: Request, auth: RequestAuth) -> Response | None:
    """The 429 of a client past its budget of unknown tokens, before its token is looked up;
    None to go on (the token, if any, now looked up once for the request)."""
    limits: RateLimits | None = request.state.http_state.rate_limits
    if limits is None:
        return None
    decision = await screen_token(limits, client_address(request), auth)
    if decision is None:
        return None
    headers = decision.headers()
    retry_after = int(headers["Retry-After"])
    entry = CODES[RateLimitedError]
    message = (
        f"Too many unknown API keys from this address: at most {decision.limit} a minute; "
        f"retry after {retry_after} s."
    )
    body = _error(message, entry.code, limit=decision.limit, retryAfter=retry_after)
    return _json(body, entry.status, headers)


async def upload(request: Request) -> Response:
    """Take one photo: admit the caller (key and quota) before reading the body, read it
    (bounded), have it decoded and stored. Answers 201 with what the photo became; every
    refusal is counted by its reason for the business view."""
    response = await _upload(request)
    counts = request.state.app_state.business
    if response.status_code == 201:
        counts.upload_stored()
    else:
        counts.upload_refused(_refusal_reason(response))
    return response


def _refusal_reason(response: Response) -> str:
    """The upload's own reason (INVALID_IMAGE, ...) where there is one, else the error code."""
    try:
        error = orjson.loads(bytes(response.body))["errors"][0]["extensions"]
        return str(error.get("reason") or error["code"])
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        return "UNKNOWN"


async def _upload(request: Request) -> Response:
    try:
        pool, service = _services(request)
        auth = _auth(request, pool)
        refused = await _screened(request, auth)
        if refused is not None:
            return refused
        declared = request.headers.get("content-length", "")
        admitted = await admit_upload(
            pool,
            service,
            auth=auth,
            declared_bytes=int(declared) if declared.isdigit() else None,
        )
        received = await receive_file(
            request, max_bytes=service.max_bytes, memory=request.state.http_state.upload_memory
        )
        try:
            record = await store_upload(
                pool, service, admitted=admitted, file=received.file, received_bytes=received.size
            )
        finally:
            received.close()
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
    params = request.query_params
    try:
        pool, service = _services(request)
        auth = _auth(request, pool)
        refused = await _screened(request, auth)
        if refused is not None:
            return refused
        record = await readable_upload(
            pool,
            service,
            upload_id=_upload_id(request.path_params.get("id", "")),
            variant=variant,
            auth=auth,
            expires=params.get("expires"),
            signature=params.get("signature"),
        )
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
        blob = await upload_bytes(service, record, variant)
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
