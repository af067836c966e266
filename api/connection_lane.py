"""The connection's lane: uvicorn's HTTP protocol answering, by itself, a POST to /graphql whose
body the response cache remembers, once that body is in. The bytes, headers, request id and
access line are the ones the app would give it, sent in one write, with no ASGI task started;
the decision is api/express.py's `answer_at_once`.

A cached answer costs little more than writing it out; what was left of its cost was what every
request pays around the app: the ASGI task, the request-response cycle, the middleware, the
`send` messages with a regular expression per response header, and two writes. Any request this
lane does not answer starts as uvicorn starts any, its body intact.

The connection guard (api/connections.py `GuardedHttpToolsProtocol`) is built on this class and
calls it from its parser callbacks: `_hold_if_answerable` when the headers are complete,
`_held_body` for each piece of body, `_answered_held` when the message is complete.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from starlette.types import Scope
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.protocols.utils import get_client_addr

from api.express import Head, answer_at_once, held_for_answer, read_head
from api.one_write import HeadWithBody
from api.response_cache import MEMO_MAX_REQUEST_BYTES
from api.state import HttpState
from monitoring.logs import REQUEST_ID

log = logging.getLogger(__name__)


class AnswerLane(HttpToolsProtocol):
    """uvicorn's httptools protocol, holding back the body of a request it may answer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A POST the response cache may answer at once: its head, and its body held back
        # until it is complete; None while no request is held.
        self._head: Head | None = None
        self._held: list[bytes] | None = None
        self._held_bytes = 0
        self._shutting_down = False

    def _hold_if_answerable(self) -> bool:
        """At the end of the headers: whether this request's body is held back (the app's task
        is then not started yet)."""
        if not self._may_hold():
            return False
        self._held, self._held_bytes = [], 0
        return True

    def _held_body(self, body: bytes) -> bool:
        """A piece of a held body taken; False when no body is held (it goes on as usual)."""
        held = self._held
        if held is None:
            return False
        held.append(body)
        self._held_bytes += len(body)
        if self._held_bytes > MEMO_MAX_REQUEST_BYTES:
            # More than its Content-Length said could be remembered: not held any longer.
            self._held = self._head = None
            self._release(held)
        return True

    def _answered_held(self) -> bool:
        """At the end of the message: whether the held request was answered here. When it was
        not, it has been handed to the app with its body, and the message completes as usual."""
        held = self._held
        if held is None:
            return False
        self._held = None
        if self._answer_at_once(b"".join(held)):
            return True
        self._release(held)
        return False

    def shutdown(self) -> None:
        if self._held is not None:
            # A request under way, as uvicorn sees one: answered, then the connection closes.
            self._shutting_down = True
            return
        super().shutdown()

    def _release(self, held: list[bytes]) -> None:
        """The usual way for a held request, as if its body had never been held: the app's
        task starts now, with what has arrived of the body already there."""
        self._start_cycle()
        if self._shutting_down and self.cycle is not None:
            self.cycle.keep_alive = False  # what uvicorn's shutdown does to one under way
        for chunk in held:
            super().on_body(chunk)

    def _start_cycle(self) -> None:
        """uvicorn's start of a request whose headers are in (its cycle, and its task unless it
        queues behind another), the cycle writing each response's head with its body."""
        before = self.cycle
        HttpToolsProtocol.on_headers_complete(self)
        cycle = self.cycle
        # Not for HEAD: uvicorn writes no body for it, so a head held back would never go out.
        if cycle is not None and cycle is not before and cycle.scope["method"] != "HEAD":
            # Only its write, close and is_closing are used: the cycle's whole use of it.
            cycle.transport = cast("asyncio.Transport", HeadWithBody(self.transport))

    def _may_hold(self) -> bool:
        if self.url != b"/graphql" or self.expect_100_continue or self._shutting_down:
            return False
        if self.cycle is not None and not self.cycle.response_complete:
            return False  # pipelined behind a request still being answered: it queues
        parser = self.parser
        if (
            parser.get_method() != b"POST"
            or parser.get_http_version() != "1.1"
            or not parser.should_keep_alive()
            or parser.should_upgrade()
            or self.root_path
        ):
            return False
        limit = self.limit_concurrency
        if limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit):
            return False  # uvicorn answers 503
        http: HttpState | None = self.app_state.get("http_state")
        head = read_head(self.headers)
        if not held_for_answer(http, head):
            return False
        self._head = head
        return True

    def _answer_at_once(self, raw: bytes) -> bool:
        http: HttpState | None = self.app_state.get("http_state")
        head = self._head
        self._head = None
        if http is None or head is None or self._shutting_down:
            return False
        try:
            # uvicorn types the scope as a TypedDict, Starlette as a mapping: the same dict.
            found = answer_at_once(http, head, raw, cast("Scope", self.scope))
        except Exception:
            # Raised inside the parser's callback, it would make uvicorn answer 400: the app
            # answers instead, and reports the fault as it reports any.
            log.debug("connection lane: the cache step failed; the app answers", exc_info=True)
            return False
        if found is None:
            return False
        response, request_id = found
        if self.access_log:
            token = REQUEST_ID.set(request_id)
            try:
                self.access_logger.info(
                    '%s - "%s %s HTTP/%s" %d',
                    get_client_addr(self.scope),
                    "POST",
                    "/graphql",
                    "1.1",
                    response.status_code,
                )
            finally:
                REQUEST_ID.reset(token)
        content = [STATUS_LINE[response.status_code]]
        for name, value in (*self.server_state.default_headers, *response.raw_headers):
            content += (name, b": ", value, b"\r\n")
        content += (b"\r\n", bytes(response.body))  # the same bytes: no copy
        self.transport.write(b"".join(content))
        self.on_response_complete()
        return True
