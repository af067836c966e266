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
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, cast

from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message

from context import Context

IDLE_CLOSE_CODE = 1000
INVALID_MESSAGE_CODE = 4400

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

    def on_request_accepted(self) -> None:
        super().on_request_accepted()
        self._idle_task = asyncio.create_task(self._close_when_idle())

    async def shutdown(self) -> None:
        if self._idle_task is not None:
            self._idle_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._idle_task
        await super().shutdown()

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
