"""The express lane: a POST to /graphql whose exact bytes the response cache remembers is
answered before the middleware stack and the router, with the same bytes and headers the
handler's own cache step (api/execution.py `_recalled`) would give it.

A cached answer costs little more than writing it out; what was left of its cost was passing
through the layers every request crosses (error and exception middleware, the request-id
middleware and its send wrapper, the router), each a coroutine frame and a `send` wrapper per
message. Here the request gets its id and its log context as the request-id middleware would
give them, and the same `cached` step answers it.

Anything this lane does not answer exactly as the handler would goes on, unchanged, with the
body it has read handed on: a request the cache does not remember, a missing or larger
`Content-Length`, a content type or charset the handler refuses, an `Accept` nothing we speak
satisfies, a body that does not arrive as announced, and any fault in the cache. A browser's
request (it carries `Origin`: CORS headers are the middleware's) never enters the lane.

The connection itself answers before this lane when it can (api/connection_lane.py): uvicorn's
protocol holds the body of such a POST back and, when this process holds the answer in the
encoding asked for (`answer_at_once`), writes it without starting the app at all. This lane
answers what the connection leaves: a request behind a proxy, an answer only the shared level
holds or not yet compressed, and any server other than uvicorn.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from api.answers import cached, kept_at_hand
from api.http_cache import ReadyResponse
from api.protocol import BODY_READ, json_body_refusal, negotiate
from api.request_id import SCOPE_KEY, request_id_given
from api.request_state import HTTPView, RequestState
from api.response_cache import MEMO_MAX_REQUEST_BYTES
from api.state import HttpState
from monitoring.logs import REQUEST_ID

log = logging.getLogger("jobwizard.api")

# Set in a request's scope by the connection (`answer_at_once`) when the response cache does not
# remember its body: the lane has nothing to add then.
UNREMEMBERED = "jobwizard.unremembered"


def expressible(scope: Scope) -> bool:
    """A request the lane may look at: a POST to /graphql that is not a browser's (one with
    `Origin` gets its CORS headers from the middleware)."""
    return bool(
        scope["type"] == "http"
        and scope["method"] == "POST"
        and scope["path"] == "/graphql"
        and all(name != b"origin" for name, _ in scope["headers"])
    )


@dataclass(slots=True)
class Head:
    """What the lanes read of a request's headers, in one pass over them (names arrive
    lower-cased); of a header sent twice, the first."""

    length: bytes = b""
    content_type: bytes = b""
    accept: bytes = b""
    request_id: bytes = b""
    accept_encoding: bytes = b""
    credentials: bool = False
    browser: bool = False  # `Origin`: its CORS headers are the middleware's
    forwarded: bool = False  # X-Forwarded-*: uvicorn's proxy-headers middleware reads them

    def memo_length(self) -> int | None:
        """The body's announced length, when the response cache could remember a body that
        long; None otherwise (no `Content-Length`, or past the memo's bound)."""
        length = self.length
        if not length.isdigit() or int(length) > MEMO_MAX_REQUEST_BYTES:
            return None
        return int(length)

    def media_type(self) -> str | None:
        """The response's media type; None when the handler must answer (a content type or
        charset it refuses, or an `Accept` nothing we speak satisfies)."""
        if len(self.content_type) + len(self.accept) > _MEMO_MAX_HEADERS:
            return _media_type(self.content_type, self.accept)
        return _media_type_memo(self.content_type, self.accept)


def _media_type(content_type: bytes, accept: bytes) -> str | None:
    if json_body_refusal(content_type.decode("latin-1")) is not None:
        return None
    return negotiate(accept.decode("latin-1") if accept else None)


# Clients send a handful of (Content-Type, Accept) pairs, each on every request: the answer is
# remembered per pair, bounded in count and in the length of a pair remembered.
_MEMO_MAX_HEADERS = 256
_media_type_memo = functools.lru_cache(maxsize=256)(_media_type)


def read_head(headers: Iterable[tuple[bytes, bytes]]) -> Head:
    head = Head()
    for name, value in headers:
        if name == b"content-length":
            head.length = head.length or value
        elif name == b"content-type":
            head.content_type = head.content_type or value
        elif name == b"accept":
            head.accept = head.accept or value
        elif name == b"x-request-id":
            head.request_id = head.request_id or value
        elif name == b"accept-encoding":
            head.accept_encoding = head.accept_encoding or value
        elif name == b"authorization":
            head.credentials = True
        elif name == b"origin":
            head.browser = True
        elif name.startswith(b"x-forwarded-"):
            head.forwarded = True
    return head


def held_for_answer(http: HttpState | None, head: Head) -> bool:
    """Whether a POST to /graphql with these headers may be answered as soon as its body is
    in (`answer_at_once`), so that the connection holds its body back until then: a body the
    response cache could remember, from a client that is neither a browser nor behind a proxy."""
    cache = http.response_cache if http is not None else None
    return bool(
        cache is not None
        and cache.live()
        and not head.browser
        and not head.forwarded
        and head.memo_length() is not None
    )


def answer_at_once(
    http: HttpState, head: Head, raw: bytes, scope: Scope
) -> tuple[ReadyResponse, str] | None:
    """The answer to a POST to /graphql with these headers and body (one `held_for_answer`
    admitted), with its request id, when the response cache remembers the body and this
    process holds the answer as it is to be sent: the bytes and headers the express lane and
    the handler give it. None for anything else, which goes the usual way; when the cache does
    not remember the body, `scope` (the request's, not yet handed to the app) says so, with
    the body, so that the express lane steps aside and the handler does not read it again."""
    cache = http.response_cache
    if cache is None or not cache.live():
        return None
    media_type = head.media_type()
    if media_type is None:
        return None
    lookup = cache.recall("POST", raw)
    if lookup is None:
        scope[UNREMEMBERED] = True
        scope[BODY_READ] = raw  # its Content-Type accepted above, as `read_raw` expects
        return None
    request_id = request_id_given(head.request_id.decode("latin-1"))
    response = kept_at_hand(
        cache,
        lookup,
        media_type=media_type,
        accept_encoding=head.accept_encoding.decode("latin-1"),
        credentials=head.credentials,
        request_id=request_id,
        min_bytes=http.settings.compress_min_bytes,
    )
    return None if response is None else (response, request_id)


async def express(view: HTTPView, scope: Scope, receive: Receive, send: Send) -> Receive | None:
    """None when the request (one `expressible` admits) was answered from the cache;
    otherwise the `receive` the rest of the app must read the request with (it hands on
    whatever was read here first)."""
    if scope.get(UNREMEMBERED):
        return receive  # the connection found the body not remembered a moment ago
    state = scope.get("state")
    http: HttpState | None = state.get("http_state") if state else None
    cache = http.response_cache if http is not None else None
    if http is None or cache is None or not cache.live():
        return receive
    head = read_head(scope["headers"])
    length = head.memo_length()
    if length is None:
        return receive
    negotiated = head.media_type()
    if negotiated is None:
        return receive
    messages, raw = await _body(receive, length)
    rest = _replay(messages, receive)
    if raw is None:
        return rest
    scope[BODY_READ] = raw  # the handler takes it from here rather than reading it again
    lookup = cache.recall("POST", raw)
    if lookup is None:
        return rest
    request_id = request_id_given(head.request_id.decode("latin-1"))
    scope[SCOPE_KEY] = request_id
    token = REQUEST_ID.set(request_id)
    try:
        request_state = RequestState(view, Request(scope, rest), http, negotiated)
        request_state.raw = raw
        try:
            response = await cached(request_state, cache, lookup)
        except Exception:  # the handler's own path reports it, as it reports any fault
            log.debug("express lane: the cache step failed; the request goes on", exc_info=True)
            return rest
        if response is None:
            return rest
        await response(scope, rest, send)
    finally:
        REQUEST_ID.reset(token)
    return None


async def _body(receive: Receive, length: int) -> tuple[list[Message], bytes | None]:
    """The messages read and the body they hold; None for the body when it did not arrive as
    announced (a disconnect, more or fewer bytes than `Content-Length`)."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        size += len(message.get("body", b""))
        if size > length:
            return messages, None
        if not message.get("more_body", False):
            break
    if size != length:
        return messages, None
    if len(messages) == 1:
        return messages, messages[0].get("body", b"")
    return messages, b"".join(m.get("body", b"") for m in messages)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that gives `messages` again, then reads on."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
