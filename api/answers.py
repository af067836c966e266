"""Responses of executed or cached GraphQL requests, with their caching headers and encoding
(api/http_cache.py): from the response cache (or 304), or from a fresh answer, kept first in
the cache when it may be."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from api.compression import choose_encoding
from api.http_cache import (
    NO_STORE,
    ReadyResponse,
    accepted_encoding,
    cache_control,
    compressed_response,
    not_modified,
    not_modified_response,
    ready_response,
    representation_etag,
    with_credentials,
)
from api.request_id import request_id_of
from api.request_state import Outcome, RequestState
from api.response_cache import CachedAnswer, Lookup, ResponseCache
from monitoring.metrics import RESPONSE_CACHE

_NO_STORE = (b"cache-control", NO_STORE.encode())
CACHE_HITS = RESPONSE_CACHE.labels(result="hit")
CACHE_MISSES = RESPONSE_CACHE.labels(result="miss")
CACHE_NOT_MODIFIED = RESPONSE_CACHE.labels(result="not_modified")


async def cached(state: RequestState, cache: ResponseCache, lookup: Lookup) -> Response | None:
    """The answer from the cache (or 304), None on a miss."""
    kind = lookup.policy.kind
    entry = cache.get_local(lookup.key, kind) or await cache.get(lookup.key, kind)
    if entry is None:
        # Nothing kept: the real answer may be an error, or one that is never kept, and a
        # validator (even `*`) must not stand in for an answer nobody has seen.
        return None
    request = state.request
    if state.get and "if-none-match" in request.headers:
        # The client's copy may be plain or encoded: either one is current. The one this
        # request would be served comes first, so that `*` names it.
        min_bytes = state.http.settings.compress_min_bytes
        served = accepted_encoding(request, len(entry.body), min_bytes)
        encoding = accepted_encoding(request, 2**62, min_bytes)
        for candidate in dict.fromkeys((served, encoding, None)):
            etag = representation_etag(lookup.etag, state.media_type, candidate)
            if not_modified(request, etag):
                response = not_modified_response(etag, _cache_control(state, lookup))
                response.headers["X-Request-ID"] = request_id_of(request.scope)
                CACHE_NOT_MODIFIED.inc()
                return response
    CACHE_HITS.inc()
    return await _from_cache(state, cache, lookup, entry)


def kept_at_hand(
    cache: ResponseCache,
    lookup: Lookup,
    *,
    media_type: str,
    accept_encoding: str,
    credentials: bool,
    request_id: str,
    min_bytes: int,
) -> ReadyResponse | None:
    """A POST's kept answer, when this process holds it in the encoding it is to be sent in:
    the bytes and headers `cached` gives a POST, without waiting on anything (no shared level,
    no compression). None otherwise, and the request goes the usual way."""
    entry = cache.get_local(lookup.key, lookup.policy.kind)
    if entry is None:
        return None
    encoding = choose_encoding(accept_encoding) if len(entry.body) > min_bytes else None
    body = entry.body if encoding is None else entry.encoded.get(encoding)
    if body is None:
        return None
    CACHE_HITS.inc()
    return ready_response(
        body,
        media_type=media_type,
        encoding=encoding,
        request_id=request_id,
        etag=None,
        cache_control_value=NO_STORE if credentials else None,
    )


async def answer(state: RequestState, outcome: Outcome) -> Response:
    """The response for an executed request, kept first when it may be: `kept` is set only for
    a cacheable operation that answered without errors while the cache is live; a degraded
    answer (the resolver said so) or a status set by a resolver keeps it out."""
    cache, kept, sub_response = state.http.response_cache, outcome.kept, state.sub_response
    if (
        cache is not None
        and kept is not None
        and state.context.cacheable
        and not sub_response.status_code
    ):
        policy = kept.policy
        entry = await cache.put(kept.key, orjson.dumps(outcome.body), policy.max_age, policy.kind)
        cache.remember(state.request.method, state.raw, state.version, kept)
        CACHE_MISSES.inc()
        request_id = sub_response.headers.get("X-Request-ID")
        return await _from_cache(state, cache, kept, entry, request_id)
    return _respond(state, outcome.body, outcome.status)


async def _from_cache(
    state: RequestState,
    cache: ResponseCache,
    lookup: Lookup,
    entry: CachedAnswer,
    request_id: str | None = None,
) -> Response:
    """A kept answer in the representation the client asked for, with its caching headers."""
    request, media_type = state.request, state.media_type
    encoding = accepted_encoding(request, len(entry.body), state.http.settings.compress_min_bytes)
    if encoding is None:
        body = entry.body
    else:
        body = await cache.encoded(lookup.key, entry, encoding, lookup.policy.kind)
    get = state.get
    if get:
        control: str | None = _cache_control(state, lookup)
    else:
        control = NO_STORE if with_credentials(request) else None
    return ready_response(
        body,
        media_type=media_type,
        encoding=encoding,
        request_id=request_id or request_id_of(request.scope),
        etag=representation_etag(lookup.etag, media_type, encoding) if get else None,
        cache_control_value=control,
    )


def _cache_control(state: RequestState, lookup: Lookup) -> str:
    return cache_control(
        lookup.policy.max_age,
        state.http.settings.stale_while_revalidate_seconds,
        private=with_credentials(state.request),
    )


def _respond(state: RequestState, body: Any, status: int) -> Response:
    sub_response = state.sub_response
    headers = list(sub_response.raw_headers)
    if (state.get or with_credentials(state.request)) and all(
        name != b"cache-control" for name, _ in headers
    ):
        headers.append(_NO_STORE)
    return compressed_response(
        state.request,
        orjson.dumps(body),
        status=sub_response.status_code or status,
        media_type=state.media_type,
        min_bytes=state.http.settings.compress_min_bytes,
        raw_headers=headers,
    )
