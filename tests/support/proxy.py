"""A TCP proxy for fault tests: sits between the app and a real server (PostgreSQL or Redis)
and, on demand, refuses connections, stalls them, delays them, rejects them or cuts them.

Only the network is faked; the server behind it is the real one, untouched, so the shared
PostgreSQL and Redis of the machine are never stopped by a test.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

STALLED = 3600.0  # seconds a stalled link holds each chunk: longer than any test


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.accepted = 0  # connections that reached the proxy (refused ones never do)
        self.delay = 0.0  # seconds added before each chunk is forwarded, both directions
        self.mode = "pass"  # pass | reject (accept, then close) | stall (accept, never answer)
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    def url_for(self, url: str) -> str:
        """`url` (postgresql:// or redis://) pointed at this proxy.

        PostgreSQL URLs get sslmode=disable: with the default "prefer", asyncpg reconnects
        without TLS when the TLS handshake is reset, so one attempt would be two connections.
        """
        parts = urlsplit(url)
        auth = parts.netloc.rpartition("@")[0]
        netloc = f"{auth}@127.0.0.1:{self.port}" if auth else f"127.0.0.1:{self.port}"
        query = parts.query
        if parts.scheme.startswith("postgres") and "sslmode" not in query:
            query = f"{query}&sslmode=disable" if query else "sslmode=disable"
        return urlunsplit(parts._replace(netloc=netloc, query=query))

    async def refuse(self) -> None:
        """Stop listening (new connections get ECONNREFUSED) and cut the open ones."""
        if self._server is not None:
            self._server.close()
            self._server = None
        self.cut()

    async def restore(self) -> None:
        """Listen again on the same port and forward normally."""
        self.mode, self.delay = "pass", 0.0
        if self._server is None:
            await self.start()

    def stall(self) -> None:
        """Accept new connections and answer nothing; the open ones stop forwarding too."""
        self.mode = "stall"
        self.delay = STALLED

    def cut(self) -> None:
        """Drop every open connection now (both sides see a reset)."""
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()

    async def close(self) -> None:
        await self.refuse()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._links.add(writer)
        if self.mode == "reject":
            writer.transport.abort()
            return
        if self.mode == "stall":
            return  # held open, never answered, until cut
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._links.add(up_writer)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink, (writer, up_writer)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        pair: tuple[asyncio.StreamWriter, asyncio.StreamWriter],
    ) -> None:
        try:
            while data := await source.read(65536):
                if self.delay:
                    await asyncio.sleep(self.delay)
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for writer in pair:
                writer.transport.abort()
                self._links.discard(writer)


@contextlib.asynccontextmanager
async def proxy_to(url: str) -> AsyncIterator[TcpProxy]:
    """A started proxy in front of the server `url` names."""
    parts = urlsplit(url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()
