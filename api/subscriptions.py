"""The graphql-transport-ws handler: Strawberry's, with messages checked before it reads them and
with the socket's own timeouts.

- Every message is checked against the protocol's shapes first (an object with a string
  `type`; `id` a string where one is needed; a `subscribe` payload an object with a string
  `query`, an object or null for `variables` and `extensions`, a string or null for
  `operationName`). Anything else closes the socket with 4400, as the protocol asks, instead of
  a TypeError deep in Strawberry (a traceback per message anyone can send).
- `connection_init` must come within WS_CONNECTION_INIT_TIMEOUT_SECONDS (4408, Strawberry's).
- A close reason longer than a close frame holds (Strawberry quotes the client's `type` or `id`
  in some) is cut to fit, instead of failing the close with a ProtocolError.
- A socket with no operation running is closed (1000) after WS_IDLE_TIMEOUT_SECONDS: an open
  socket holds one of the worker's connections, and one that subscribes to nothing has no
  reason to.
- A socket opened with an API key is closed with 4403 once the key is revoked: the revocation
  notice reaches every process and drops the key's cached verdict (context/key_cache.py), and
  each socket of that key checks it again then, in whichever worker holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, cast

from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
)

from context import Context
from domain.errors import ServiceUnavailableError

log = logging.getLogger(__name__)

IDLE_CLOSE_CODE = 1000
INVALID_MESSAGE_CODE = 4400
# The protocol's "Forbidden", as for a refused connection_init: graphql-ws retries it by
# default (docs/clients.md says how to stop that).
REVOKED_CLOSE_CODE = 4403
REVOKED_REASON = "Forbidden: the API key is no longer valid"

# A close frame's payload is at most 125 bytes, two of them the code.
MAX_CLOSE_REASON_BYTES = 123
_NEEDS_ID = frozenset({"subscribe", "complete"})
_OPTIONAL_OBJECTS = ("variables", "extensions")


def protocol_error(message: object) -> str | None:
    """Why `message` is not a well-formed graphql-transport-ws message, or None."""
    if not isinstance(message, Mapping):
        return "A message must be a JSON object"
    kind = message.get("type")
    if not isinstance(kind, str):
        return "A message's 'type' must be a string"
    if kind in _NEEDS_ID and not isinstance(message.get("id"), str):
        return f"A '{kind}' message's 'id' must be a string"
    if kind != "subscribe":
        return None
    payload = message.get("payload")
    if not isinstance(payload, Mapping):
        return "A 'subscribe' message's 'payload' must be an object"
    if not isinstance(payload.get("query"), str):
        return "A 'subscribe' payload's 'query' must be a string"
    for name in _OPTIONAL_OBJECTS:
        if payload.get(name) is not None and not isinstance(payload[name], Mapping):
            return f"A 'subscribe' payload's '{name}' must be an object"
    operation_name = payload.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        return "A 'subscribe' payload's 'operationName' must be a string"
    return None


def close_reason(reason: str) -> str:
    """`reason`, cut to what a close frame holds (whole characters only)."""
    encoded = reason.encode()
    if len(encoded) <= MAX_CLOSE_REASON_BYTES:
        return reason
    return encoded[:MAX_CLOSE_REASON_BYTES].decode(errors="ignore")


class WebSocketAdapter(ASGIWebSocketAdapter):
    async def close(self, code: int, reason: str) -> None:
        await super().close(code, close_reason(reason))


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = self.context.app.settings
        self.connection_init_wait_timeout = timedelta(
            seconds=settings.ws_connection_init_timeout_seconds
        )
        self._idle_timeout = settings.ws_idle_timeout_seconds
        self._idle_task: asyncio.Task[None] | None = None
        self._unwatch: Callable[[], None] | None = None
        self._checks: set[asyncio.Task[None]] = set()

    def on_request_accepted(self) -> None:
        super().on_request_accepted()
        self._idle_task = asyncio.create_task(self._close_when_idle())

    async def shutdown(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        tasks = [task for task in (self._idle_task, *self._checks) if task is not None]
        for task in tasks:
            if task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await super().shutdown()

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        key_sha256, keys = self.context.auth.key_sha256, self.context.app.keys
        if (
            self.connection_acknowledged
            and key_sha256 is not None
            and keys is not None
            and self._unwatch is None
        ):
            self._unwatch = keys.watch(key_sha256, self._key_dropped)

    def _key_dropped(self) -> None:
        # Every drop gets its own check: one that began before a revocation may have read the
        # key as it was.
        task = asyncio.create_task(self._close_if_revoked())
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    async def _close_if_revoked(self) -> None:
        try:
            key = await self.context.auth.check_again()
        except ServiceUnavailableError:
            # Cannot tell now; the next notice, or the listener's reconnection, asks again.
            log.warning("a WebSocket's API key could not be checked again")
            return
        if key is None:
            await self.websocket.close(code=REVOKED_CLOSE_CODE, reason=REVOKED_REASON)

    async def handle_message(self, message: Message) -> None:
        error = protocol_error(cast("object", message))
        if error is not None:
            await self.handle_invalid_message(error)
            return
        await super().handle_message(message)

    async def _close_when_idle(self) -> None:
        # Polled rather than signalled (operations come and go inside Strawberry's handler),
        # a quarter of the timeout at a time: a socket is closed at most that late.
        loop = asyncio.get_running_loop()
        step = self._idle_timeout / 4
        idle_since = loop.time()
        while True:
            now = loop.time()
            if self.operations:
                idle_since = now
                await asyncio.sleep(step)
                continue
            remaining = idle_since + self._idle_timeout - now
            if remaining <= 0:
                await self.websocket.close(
                    code=IDLE_CLOSE_CODE, reason="No operation within the idle timeout"
                )
                return
            await asyncio.sleep(remaining)
