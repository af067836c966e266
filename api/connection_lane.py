"""The connection's lane: uvicorn's HTTP protocol answering, by itself, a POST to /graphql whose
body it held back until the body was in.

- A body the response cache remembers is answered at once: the bytes, headers, request id and
  access line the app would give it, in one write, with no task started (the decision is
  api/express.py's `answer_at_once`).
- Any other held body is served by the GraphQL handler (api/execution.py `serve`) in a task of
  its own, without the ASGI layers in between, and its response written whole: the same
  handler, request id, log context and access line the app's direct path gives it (api/app.py:
  no `Origin`, so no CORS; no `X-Forwarded-*`, so nothing for the proxy-headers middleware).

What a request paid around the handler, on top of its own work, was a large share of a
lookup's cost: the proxy-headers middleware, the app's lanes, the request-id middleware and
its `send` wrapper, the view, the `Response` sending two ASGI messages, and uvicorn checking
each response header with two regular expressions. Here only the request-response cycle stays,
as the state uvicorn keeps for a request under way (pipelining, shutdown, disconnects, the
keep-alive wait after it). The response headers are the app's own, never a client's bytes.

Any request the connection does not hold starts as uvicorn starts any, its body intact.

The connection guard (api/connections.py `GuardedHttpToolsProtocol`) is built on this class and
calls it from its parser callbacks: `_hold_if_answerable` when the headers are complete,
`_held_body` for each piece of body, `_answered_held` when the message is complete.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import Any, cast

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from uvicorn._types import HTTPScope
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.protocols.utils import get_client_addr

from api.execution import serve
from api.express import UNREMEMBERED, Head, answer_at_once, held_for_answer, read_head
from api.one_write import HeadWithBody
from api.request_id import SCOPE_KEY, request_id_from, with_request_id
from api.request_state import VIEW_KEY, HTTPView
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
        # Set while a held request's cycle starts: its task serves it without the ASGI layers.
        self._direct = False

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
        self._release(held, direct=bool(self.scope.get(UNREMEMBERED)))
        return False

    def shutdown(self) -> None:
        if self._held is not None:
            # A request under way, as uvicorn sees one: answered, then the connection closes.
            self._shutting_down = True
            return
        super().shutdown()

    def _release(self, held: list[bytes], *, direct: bool = False) -> None:
        """The usual way for a held request, as if its body had never been held: its task
        starts now, with what has arrived of the body already there. `direct`: a body the
        connection read whole and the response cache does not remember, which the handler
        serves without the app's layers (`_serve_held`)."""
        self._direct = direct and self.app_state.get(VIEW_KEY) is not None
        try:
            self._start_cycle()
        finally:
            self._direct = False
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

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        # uvicorn's, but for a held request the handler serves (`_release`): `app` is then the
        # app itself, not the 503 uvicorn answers past its concurrency limit.
        if not self._direct or app is not self.app:
            super()._start_asgi_task(cycle, app)
            return
        context = contextvars.Context() if self.config.reset_contextvars else None
        task = self.loop.create_task(self._serve_held(cycle), context=context)
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    async def _serve_held(self, cycle: RequestResponseCycle) -> None:
        """A held request served by the handler, as the app's direct path serves it (its
        request id, its log context), and its response written whole; a fault answered as
        uvicorn answers an app's (logged, then 500)."""
        # uvicorn types the scope and messages as TypedDicts, Starlette as mappings: the same.
        scope = cast("Scope", cycle.scope)
        receive = cast("Receive", cycle.receive)
        try:
            request_id = request_id_from(Headers(scope=scope))
            scope[SCOPE_KEY] = request_id
            token = REQUEST_ID.set(request_id)
            try:
                view: HTTPView = self.app_state[VIEW_KEY]
                response = await serve(view, Request(scope, receive))
                response.raw_headers = with_request_id(response.raw_headers, request_id)
                if response.background is not None or cycle.disconnected:
                    # Sent the ASGI way: its background runs after it, as in the app.
                    await response(scope, receive, cast("Send", cycle.send))
                else:
                    self._send_whole(cycle, response)
            finally:
                REQUEST_ID.reset(token)
        except BaseException as exc:
            cycle.logger.error("Exception in ASGI application\n", exc_info=exc)
            if not cycle.response_started:
                await cycle.send_500_response()
            else:
                cycle.transport.close()
        finally:
            cycle.on_response = lambda: None

    def _send_whole(self, cycle: RequestResponseCycle, response: Response) -> None:
        """What uvicorn's `send` does with a whole response's two messages, in one write."""
        cycle.response_started = True
        status = response.status_code
        if cycle.access_log:
            self._log_access(cycle.scope, status)
        content = self._response_head(status, response.raw_headers)
        if not cycle.keep_alive:
            content.append(b"connection: close\r\n")
        content += (b"\r\n", bytes(response.body))  # the same bytes: no copy
        self.transport.write(b"".join(content))
        cycle.response_complete = True
        cycle.message_event.set()
        if not cycle.keep_alive:
            self.transport.close()
        cycle.on_response()

    def _response_head(self, status: int, headers: list[tuple[bytes, bytes]]) -> list[bytes]:
        """A response's status line and headers, uvicorn's own first, to the blank line."""
        content = [STATUS_LINE[status]]
        for name, value in (*self.server_state.default_headers, *headers):
            content += (name, b": ", value, b"\r\n")
        return content

    def _log_access(self, scope: HTTPScope, status: int) -> None:
        """uvicorn's access line for a held request (a POST to /graphql over HTTP/1.1)."""
        self.access_logger.info(
            '%s - "%s %s HTTP/%s" %d',
            get_client_addr(scope),
            "POST",
            "/graphql",
            "1.1",
            status,
        )

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
                self._log_access(self.scope, response.status_code)
            finally:
                REQUEST_ID.reset(token)
        content = self._response_head(response.status_code, response.raw_headers)
        content += (b"\r\n", bytes(response.body))  # the same bytes: no copy
        self.transport.write(b"".join(content))
        self.on_response_complete()
        return True
