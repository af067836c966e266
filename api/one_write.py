"""A response's head written together with its body: uvicorn's request-response cycle writes the
status line and headers when the app sends `http.response.start`, and the body when it sends
`http.response.body`, each with a write of its own. On a TCP connection that is two system
calls and two segments per response, where the body follows the head at once (every response
of this app is sent whole). The cycle's transport here holds the head back and hands it to the
transport together with the first body bytes (one `writelines`: one system call), or writes it
alone when the connection closes first.
"""

from __future__ import annotations

import asyncio

# The interim answer to `Expect: 100-continue`, which uvicorn writes before the response's
# head (as this literal) and which must go out at once: the client waits for it.
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class HeadWithBody:
    """The transport one request-response cycle writes through (its `write`, `close` and
    `is_closing`, all it uses): the first write other than an interim `100 Continue` is the
    response's head, and waits for the next."""

    __slots__ = ("_head", "_started", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head: bytes | None = None
        self._started = False

    def write(self, data: bytes) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.writelines((head, data))
        elif self._started or data == _CONTINUE:
            self._transport.write(data)
        else:
            self._started = True
            self._head = data

    def close(self) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head)
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()
