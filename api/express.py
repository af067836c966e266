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
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from api.answers import cached
from api.protocol import BODY_READ, json_body_refusal, negotiate
from api.request_id import SCOPE_KEY, request_id_given
from api.request_state import HTTPView, RequestState
from api.response_cache import MEMO_MAX_REQUEST_BYTES
from api.state import HttpState
from monitoring.logs import REQUEST_ID

log = logging.getLogger("jobwizard.api")


def expressible(scope: Scope) -> bool:
    """A request the lane may look at: a POST to /graphql that is not a browser's (one with
    `Origin` gets its CORS headers from the middleware)."""
    return bool(
        scope["type"] == "http"
        and scope["method"] == "POST"
        and scope["path"] == "/graphql"
        and all(name != b"origin" for name, _ in scope["headers"])
    )


async def express(view: HTTPView, scope: Scope, receive: Receive, send: Send) -> Receive | None:
    """None when the request (one `expressible` admits) was answered from the cache;
    otherwise the `receive` the rest of the app must read the request with (it hands on
    whatever was read here first)."""
    state = scope.get("state")
    http: HttpState | None = state.get("http_state") if state else None
    cache = http.response_cache if http is not None else None
    if http is None or cache is None or not cache.live():
        return receive
    # One pass over the raw headers (names arrive lower-cased) for the four this lane reads.
    length = content_type = accept = given_id = b""
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = length or value
        elif name == b"content-type":
            content_type = content_type or value
        elif name == b"accept":
            accept = accept or value
        elif name == b"x-request-id":
            given_id = given_id or value
    if not length.isdigit() or int(length) > MEMO_MAX_REQUEST_BYTES:
        return receive
    if json_body_refusal(content_type.decode("latin-1")) is not None:
        return receive  # the handler refuses it
    negotiated = negotiate(accept.decode("latin-1") if accept else None)
    if negotiated is None:
        return receive
    messages, raw = await _body(receive, int(length))
    rest = _replay(messages, receive)
    if raw is None:
        return rest
    scope[BODY_READ] = raw  # the handler takes it from here rather than reading it again
    lookup = cache.recall("POST", raw)
    if lookup is None:
        return rest
    request_id = request_id_given(given_id.decode("latin-1"))
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
