"""Helpers for WebSocket tests against a live server: a raw handshake for hand-made frames,
the process's RSS, and a catcher for log records that carry a traceback."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import struct
from collections.abc import Iterator

PROTOCOL = "graphql-transport-ws"


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/graphql"


async def raw_socket(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A socket through the WebSocket handshake, for writing frames by hand."""
    reader, writer = await asyncio.open_connection(host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {PROTOCOL}\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


def frame_head(opcode: int, length: int, *, fin: bool = True) -> bytes:
    """A client frame's header announcing `length` bytes, masked with a zero key (so the
    payload goes as written)."""
    first = (0x80 if fin else 0) | opcode
    if length < 126:
        return bytes([first, 0x80 | length]) + b"\0\0\0\0"
    if length < 1 << 16:
        return bytes([first, 0x80 | 126]) + struct.pack("!H", length) + b"\0\0\0\0"
    return bytes([first, 0x80 | 127]) + struct.pack("!Q", length) + b"\0\0\0\0"


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def tracebacks() -> Iterator[list[str]]:
    """Collect, from every logger (uvicorn's do not propagate to the root), the records that
    carry an exception or are errors."""
    found: list[str] = []
    handler = _Records()
    loggers = [
        logging.getLogger(),
        logging.getLogger("uvicorn"),
        logging.getLogger("uvicorn.error"),
    ]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield found
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        seen: set[int] = set()
        for record in handler.records:
            if id(record) in seen:
                continue
            seen.add(id(record))
            if record.exc_info or record.levelno >= logging.ERROR:
                trace = (
                    logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
                )
                found.append(f"{record.name}: {record.getMessage()}\n{trace}")
