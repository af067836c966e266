"""Connection hygiene at the HTTP-protocol level, where uvicorn has no setting of its own:

- a connection that sends nothing is closed after CONNECTION_IDLE_TIMEOUT_SECONDS (uvicorn's
  keep-alive timeout covers the wait *between* requests, not the one before the first byte);
- request headers must be complete within HEADER_TIMEOUT_SECONDS of their first byte (a slow
  header, one byte a second, holds a socket forever otherwise);
- a body must be complete within BODY_TIMEOUT_SECONDS of its headers;
- one budget of MAX_HEADER_BYTES per request for everything outside its body: the request
  line, the headers and a chunked body's trailers. Past it the request gets 431 and the
  connection is closed (or, when an earlier request on it is still being answered, just closed).
  The budget is spent in the parser's callbacks, so it holds whatever the read pattern (a whole
  request in one read, header lines pipelined behind an upload, trailers after the last chunk);
  bytes that reach no callback (a header line still incomplete, which httptools buffers until it
  ends) are spent as they arrive.

The HTTP protocol is built on the connection's lane (api/connection_lane.py), which answers a
POST the response cache remembers by itself, once its body is in.

WebSockets (`GuardedWebSocketProtocol`, uvicorn's websockets-sansio protocol): a message, its
fragments together, is at most WS_MAX_MESSAGE_BYTES (close 1009 before more is buffered); at
most WS_MAX_CONNECTIONS sockets per worker (503 to the handshake past it), so that they cannot
take every connection from HTTP; a socket that is lost drops what it had buffered of a message
at once, not when the app's handler lets go of the protocol. Their timeouts (connection_init,
idle) are the graphql-transport-ws handler's, in api/subscriptions.py.

uvicorn itself bounds the rest (`uvicorn_options`): concurrent connections per worker
(`limit_concurrency`, 503 past it) and the keep-alive wait. The process's open-file limit is
raised to its hard limit at start (`raise_open_file_limit`), so that idle sockets run into the
timeouts above, not into EMFILE. What belongs to a reverse proxy in front is in
docs/operations.md.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

from api.access_log import ACCESS_LOG
from api.connection_lane import AnswerLane
from api.request_id import new_request_id
from config import Settings
from schema.codes import CODES, HeadersTooLargeError

log = logging.getLogger(__name__)

REQUEST_HEADER_FIELDS_TOO_LARGE = CODES[HeadersTooLargeError].code
_LINGER_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    idle_timeout: float
    header_timeout: float
    body_timeout: float
    max_header_bytes: int
    ws_max_connections: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        return cls(
            idle_timeout=settings.connection_idle_timeout_seconds,
            header_timeout=settings.header_timeout_seconds,
            body_timeout=settings.body_timeout_seconds,
            max_header_bytes=settings.max_header_bytes,
            ws_max_connections=settings.ws_connection_cap,
        )


class GuardedHttpToolsProtocol(AnswerLane):
    """uvicorn's httptools protocol with the deadlines and the header cap above. uvicorn
    builds one per connection; the limits are the process's (`configure`), so that worker
    processes, which import this class by name, get them from their own settings."""

    limits: ConnectionLimits | None = None

    @classmethod
    def configure(cls, settings: Settings) -> None:
        cls.limits = ConnectionLimits.from_settings(settings)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if GuardedHttpToolsProtocol.limits is None:
            GuardedHttpToolsProtocol.configure(Settings.from_env())
        assert GuardedHttpToolsProtocol.limits is not None
        self._limits = GuardedHttpToolsProtocol.limits
        if self.access_log:
            # The same lines, formatted and written in batches (api/access_log.py).
            self.access_logger = ACCESS_LOG  # type: ignore[assignment]  # uvicorn calls `info`
        self._phase = "idle"  # idle -> headers -> body -> app -> idle (next request)
        self._head_bytes = 0  # spent by the current request outside its body
        self._unparsed = 0  # received since the parser's last callback
        self._callbacks = 0
        self._over_budget = False
        # One deadline per connection, checked lazily: arming moves `_due` (a float) and a
        # timer is scheduled only when none is pending early enough; a timer that finds its
        # deadline moved later re-schedules itself. So a request costs no timer of its own,
        # where arming and cancelling one per phase was a measurable share of a cached answer.
        self._due: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._limits.idle_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase == "refused":
            return  # read and dropped until the close, so the client gets the 431 (no reset)
        if self._phase == "idle":
            self._phase = "headers"
            self._arm(self._limits.header_timeout)
        callbacks = self._callbacks
        super().data_received(data)
        if self._callbacks == callbacks:
            self._unparsed += len(data)  # buffered by the parser, or skipped: not body bytes
        else:
            self._unparsed = 0
        if self._head_bytes + self._unparsed > self._limits.max_header_bytes:
            self._over_budget = True
        if self._over_budget and not self.transport.is_closing():
            self._refuse_headers()

    # Parser callbacks: each one counts as progress; those that carry bytes outside the body
    # spend them. Past the budget the rest of the read is parsed and dropped (raising here
    # would make uvicorn answer 400), and `data_received` refuses the request.
    def on_message_begin(self) -> None:
        self._callbacks += 1
        self._head_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        if self._spend(len(url)):
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._spend(len(name) + len(value) + 4):  # with ": " and CRLF
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._callbacks += 1
        if self._over_budget:
            return
        self._phase = "body"
        self._arm(self._limits.body_timeout)
        if self._hold_if_answerable():
            return
        self._start_cycle()

    def on_body(self, body: bytes) -> None:
        self._callbacks += 1
        if self._over_budget or self._held_body(body):
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._callbacks += 1
        if self._over_budget:
            return
        self._phase = "app"
        self._disarm()  # the app's own time is bounded by its own timeouts
        if self._answered_held():
            return
        super().on_message_complete()

    def on_response_complete(self) -> None:
        # uvicorn's own, with its keep-alive timer (one `call_later` and one cancel per request)
        # replaced by this connection's deadline: the same wait, closed the same way.
        self._phase = "idle"
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self._arm(self.timeout_keep_alive)

    def _spend(self, size: int) -> bool:
        """Count `size` bytes against the request's budget; False once it is exceeded."""
        self._callbacks += 1
        self._head_bytes += size
        if self._head_bytes > self._limits.max_header_bytes:
            self._over_budget = True
        return not self._over_budget

    def _arm(self, seconds: float) -> None:
        due = self.loop.time() + seconds
        self._due = due
        timer = self._timer
        if timer is None or self._timer_at > due:
            if timer is not None:
                timer.cancel()
            self._schedule(due)

    def _disarm(self) -> None:
        self._due = None

    def _cancel_timer(self) -> None:
        self._due = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _schedule(self, when: float) -> None:
        self._timer_at = when
        self._timer = self.loop.call_at(when, self._check)

    def _check(self) -> None:
        self._timer = None
        due = self._due
        if due is None:
            return  # disarmed meanwhile: the next phase that needs a deadline schedules one
        if self.loop.time() < due:
            self._schedule(due)  # re-armed later meanwhile
            return
        self._expired()

    def _expired(self) -> None:
        self._due = None
        if not self.transport.is_closing():
            # Closed without an answer: a client this slow is not waiting for one, and writing
            # to it could block as well.
            self.transport.close()

    def _refuse_headers(self) -> None:
        if self.cycle is not None and not self.cycle.response_complete:
            # An earlier request on this connection is still being answered: a 431 would land
            # in the middle of its response, so the connection is only closed.
            self._phase = "refused"
            self.transport.close()
            return
        limit = self._limits.max_header_bytes
        body = orjson.dumps(
            {
                "errors": [
                    {
                        "message": f"The request headers exceed {limit} bytes.",
                        "extensions": {"code": REQUEST_HEADER_FIELDS_TOO_LARGE, "limit": limit},
                    }
                ]
            }
        )
        head = (
            "HTTP/1.1 431 Request Header Fields Too Large\r\n"
            "content-type: application/json; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\n"
            f"x-request-id: {new_request_id()}\r\n"
            "connection: close\r\n\r\n"
        )
        self.transport.write(head.encode("ascii") + body)
        # A lingering close: closing with unread data pending would make the kernel send a
        # reset, and the client would lose the answer. Send it, stop writing, read whatever
        # still comes for a moment (dropped), then close.
        self._phase = "refused"
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._arm(_LINGER_SECONDS)


GOING_AWAY = 1001


class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol with a cap on open sockets per process, and a lost socket's
    partial message dropped with it. The message size is uvicorn's `ws_max_size`, which the
    websockets parser checks against each frame's announced length before reading it."""

    open_sockets: ClassVar[set[GuardedWebSocketProtocol]] = set()

    def handle_connect(self, event: Request) -> None:
        limits = GuardedHttpToolsProtocol.limits
        cap = limits.ws_max_connections if limits is not None else None
        if cap is not None and len(self.open_sockets) >= cap:
            self.handshake_initiated = self.handshake_complete = self.close_sent = True
            self.conn.send_response(self.conn.reject(503, "Too many WebSocket connections.\n"))
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.transport.close()
            return
        self.open_sockets.add(self)
        super().handle_connect(event)

    def shutdown(self) -> None:
        """The server is stopping (a rolling restart): close an open socket with 1001, "going
        away", which tells a graphql-ws client to reconnect (to another instance), rather than
        uvicorn's 1012; the rest as uvicorn does."""
        if self.close_sent or not self.handshake_complete or self.initial_response is not None:
            super().shutdown()
            return
        self.stop_keepalive()
        self.queue.put_nowait({"type": "websocket.disconnect", "code": GOING_AWAY})
        self.conn.send_close(GOING_AWAY, "Server restarting; reconnect.")
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.open_sockets.discard(self)
        super().connection_lost(exc)
        # The app's handler may hold this protocol a while longer (its receive and send are
        # bound to it): what the parser and uvicorn buffered of an unfinished message goes now.
        self.frames = []
        self.conn.receive_eof()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's part of connection hygiene, and the protocols above for the rest."""
    GuardedHttpToolsProtocol.configure(settings)
    return {
        "http": GuardedHttpToolsProtocol,
        "ws": GuardedWebSocketProtocol,
        "ws_max_size": settings.ws_max_message_bytes,
        "timeout_keep_alive": max(1, round(settings.connection_idle_timeout_seconds)),
        "limit_concurrency": settings.max_connections,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "proxy_headers": True,
        "timeout_graceful_shutdown": settings.shutdown_grace_seconds,
    }


def raise_open_file_limit() -> tuple[int, int]:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit (workers inherit it);
    returns (before, after)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("open-file limit stays %d (raising it to %d failed: %s)", soft, target, exc)
            return soft, soft
    after = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    log.info("open-file limit: %d (was %d, hard limit %d)", after, soft, hard)
    return soft, after
