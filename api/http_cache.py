"""HTTP caching and compression of /graphql answers, as a CDN in front expects them.

- A GET of a cacheable operation carries a strong `ETag` (the catalogue version and a digest of
  the request: same version and request, same bytes) and `Cache-Control: public,
  max-age=<the shortest hint>, stale-while-revalidate=<setting>`; `If-None-Match` with that
  ETag (or `*`) gets `304 Not Modified` with no body, only while that answer is kept.
- Any other GET answer says `Cache-Control: no-store` (it may depend on the caller, or be an
  error the next request would not repeat). POST answers are left to the protocol's defaults.
- A request that carries credentials (`Authorization`: an API key or a customer's token) is
  answered `private` when cacheable and `no-store` otherwise, GET or POST: a shared cache in
  front must never keep what was asked with someone's credentials, even where (as with every
  cacheable operation) the answer is the same for everyone.
- Bodies over `COMPRESS_MIN_BYTES` are compressed when the client accepts it; every answer
  says `Vary: Accept, Accept-Encoding`, since both change the bytes under one URL.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from api.compression import choose_encoding, compress
from context.headers import header

VARY = "Accept, Accept-Encoding"
NO_STORE = "no-store"


def cache_control(max_age: int, stale_while_revalidate: int, *, private: bool = False) -> str:
    value = f"{'private' if private else 'public'}, max-age={max_age}"
    if stale_while_revalidate:
        value += f", stale-while-revalidate={stale_while_revalidate}"
    return value


def representation_etag(etag: str, media_type: str, encoding: str | None) -> str:
    """The strong ETag of one representation: the media type and the encoding change the
    bytes (and headers) under one URL, so each has its own validator."""
    suffix = "g" if media_type.startswith("application/graphql") else "j"
    if encoding:
        suffix += f"-{encoding}"
    return f'{etag[:-1]}-{suffix}"'


def with_credentials(request: Request) -> bool:
    """Whether the request carries credentials a shared cache must not answer for."""
    return "authorization" in request.headers


def not_modified(request: Request, etag: str) -> bool:
    """Whether the request's If-None-Match holds `etag` (weak comparison, RFC 9110 13.1.2)."""
    given = header(request.headers, b"if-none-match")
    if not given:
        return False
    for candidate in given.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


def accepted_encoding(request: Request, size: int, min_bytes: int) -> str | None:
    if size <= min_bytes:
        return None
    return choose_encoding(header(request.headers, b"accept-encoding") or "")


def compressed_response(
    request: Request,
    body: bytes,
    *,
    status: int,
    media_type: str,
    min_bytes: int,
    raw_headers: list[tuple[bytes, bytes]],
) -> ReadyResponse:
    """`body`, compressed on the fly when large enough and the client accepts it, with the
    request's own headers (its id, its rate limit) given already encoded: the header list is
    built directly, as the cache's hit path builds its own."""
    encoding = accepted_encoding(request, len(body), min_bytes)
    if encoding is not None:
        body = compress(body, encoding)
    headers = [
        _content_type(media_type),
        (b"content-length", str(len(body)).encode()),
        _VARY,
        *raw_headers,
    ]
    if encoding:
        headers.append((b"content-encoding", encoding.encode()))
    return ReadyResponse(body, status, headers)


class ReadyResponse(Response):
    """A response whose header list is built directly: the cache's hit path builds one per
    request, and Starlette's generic header handling is a measurable share of that path."""

    def __init__(self, body: bytes, status: int, raw_headers: list[tuple[bytes, bytes]]) -> None:
        self.status_code = status
        self.background = None
        self.body = body
        self.raw_headers = raw_headers


_VARY = (b"vary", VARY.encode())
_CONTENT_TYPES: dict[str, tuple[bytes, bytes]] = {}


def ready_response(
    body: bytes,
    *,
    media_type: str,
    encoding: str | None,
    request_id: str,
    etag: str | None,
    cache_control_value: str | None,
) -> ReadyResponse:
    headers = [
        _content_type(media_type),
        (b"content-length", str(len(body)).encode()),
        _VARY,
        (b"x-request-id", request_id.encode()),
    ]
    if encoding:
        headers.append((b"content-encoding", encoding.encode()))
    if etag is not None:
        headers.append((b"etag", etag.encode()))
    if cache_control_value is not None:
        headers.append((b"cache-control", cache_control_value.encode()))
    return ReadyResponse(body, 200, headers)


def _content_type(media_type: str) -> tuple[bytes, bytes]:
    content_type = _CONTENT_TYPES.get(media_type)
    if content_type is None:
        content_type = (b"content-type", f"{media_type}; charset=utf-8".encode())
        _CONTENT_TYPES[media_type] = content_type
    return content_type


def not_modified_response(etag: str, cache_control_value: str) -> Response:
    return Response(
        status_code=304,
        headers={"ETag": etag, "Cache-Control": cache_control_value, "Vary": VARY},
    )
