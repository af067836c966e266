"""`X-Request-ID` on every response, whichever route or refusal answers it, and the id in
every log line written while the request is served."""

from __future__ import annotations

import itertools
import os
import re
import secrets
from collections.abc import Sequence
from typing import TypeVar

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from context.headers import header
from monitoring.logs import REQUEST_ID

_Headers = TypeVar("_Headers", bound=Sequence[tuple[bytes, bytes]])
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
SCOPE_KEY = "jobwizard.request_id"


class _Ids:
    """New ids: a random prefix drawn once per process, then a counter. Unique across processes
    and restarts as a UUID is, without asking the kernel for randomness on every request (a
    measurable share of a cached answer's CPU). A forked child draws its own prefix."""

    def __init__(self) -> None:
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count(1)

    def new(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"  # 32 hex digits, as a UUID's


_ids = _Ids()
new_request_id = _ids.new


def request_id_from(headers: Headers) -> str:
    """The caller's `X-Request-ID` when it is sane, so traces join up; otherwise a new one."""
    return request_id_given(header(headers, b"x-request-id") or "")


def request_id_given(given: str) -> str:
    """`given` (the value of the caller's `X-Request-ID`, "" for none) when it is sane; otherwise
    a new id."""
    return given if _CLIENT_REQUEST_ID.match(given) else new_request_id()


def with_request_id(headers: _Headers, request_id: str) -> _Headers | list[tuple[bytes, bytes]]:
    """A response's raw headers with its `X-Request-ID`: `headers` as they are when they carry
    one, else a new list with it (the given list may not be the response's own). ASGI header
    names are lower-case: the raw list is read as it is, rather than through a MutableHeaders
    made (and its list copied) for every response."""
    # A loop, not any() over a generator: one left unfinished is closed by an exception.
    for name, _ in headers:
        if name == b"x-request-id":
            return headers
    return [*headers, (b"x-request-id", request_id.encode("latin-1"))]


def request_id_of(scope: Scope) -> str:
    """The id the middleware gave this request (a new one outside it, as in unit tests)."""
    found = scope.get(SCOPE_KEY)
    return found if isinstance(found, str) else request_id_from(Headers(scope=scope))


class RequestIdMiddleware:
    """Pure ASGI (no per-request task or body buffering, unlike BaseHTTPMiddleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(Headers(scope=scope))
        scope[SCOPE_KEY] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_request_id(message.get("headers") or (), request_id)
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
