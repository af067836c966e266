"""Invalidation notices: the catalogue version and the PostgreSQL channel that announces changes.

Migration 011's triggers bump `catalogue_version` on any catalogue write and NOTIFY the channel
(`catalogue <version>`, `key <sha256>`); `InvalidationListener` keeps one dedicated connection
per process LISTENing to it (never a pool connection: LISTEN is session state) and hands every
notice to a callback. When that connection is lost it reconnects with a bounded back-off and
reports a gap (`on_gap`) with the catalogue version read just after LISTEN: notices may have
been missed, so whoever caches compares it with the version its caches hold (a missed
catalogue change always moved it). While it is not connected, `listening` is False and callers
must not trust caches that only a notice could invalidate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from db.pool import Connection

CHANNEL = "jobwizard_invalidate"
SELECT_CATALOGUE_VERSION = "SELECT version FROM catalogue_version"
# Bumped by the triggers on every catalogue write; the seed calls it as well, so that a seed
# announces itself even when no row changed. Once per transaction whatever the number of calls.
BUMP_CATALOGUE_VERSION = "SELECT bump_catalogue_version()"
# A quiet connection can be dead without the client knowing: it is pinged now and then.
PING_LISTENER = "SELECT 1"

CATALOGUE = "catalogue"
KEY = "key"
RECONNECT_MIN = 0.05
RECONNECT_MAX = 2.0

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Notice:
    kind: str  # CATALOGUE or KEY
    value: str  # the new version (as text), or a key's SHA-256


def parse_notice(payload: str) -> Notice | None:
    kind, _, value = payload.partition(" ")
    if kind not in (CATALOGUE, KEY) or not value:
        return None
    return Notice(kind, value)


async def catalogue_version(db: Connection | asyncpg.Pool) -> int:
    value = await db.fetchval(SELECT_CATALOGUE_VERSION)
    return int(value or 0)


async def bump_catalogue_version(conn: Connection) -> int:
    return int(await conn.fetchval(BUMP_CATALOGUE_VERSION))


class InvalidationListener:
    """LISTEN on `CHANNEL` over a connection of its own, reconnecting when it drops."""

    def __init__(
        self,
        dsn: str,
        *,
        on_notice: Callable[[Notice], None],
        on_gap: Callable[[int], Awaitable[None] | None],
        connect_timeout: float = 5.0,
        ping_interval: float = 10.0,
    ) -> None:
        self._dsn = dsn
        self._on_notice = on_notice
        self._on_gap = on_gap
        self._connect_timeout = connect_timeout
        self._ping_interval = ping_interval
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self.listening = False
        self.reconnects = 0

    async def start(self) -> int:
        """Connect and LISTEN, then keep it so in the background; the catalogue version read
        just after LISTEN started (so no change can fall between the two)."""
        version = await self._connect()
        self._task = asyncio.create_task(self._watch(), name="invalidation-listener")
        return version

    @property
    def backend_pid(self) -> int | None:
        """The PostgreSQL backend listening for this process (for operators and tests)."""
        return None if self._conn is None else self._conn.get_server_pid()

    def keep_trying(self) -> None:
        """After a failed `start`: connect in the background, reporting a gap once connected."""
        self._lost.set()
        self._task = asyncio.create_task(self._watch(), name="invalidation-listener")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._disconnect()

    async def _connect(self) -> int:
        conn = await asyncpg.connect(self._dsn, timeout=self._connect_timeout)
        try:
            conn.add_termination_listener(self._terminated)
            await conn.add_listener(CHANNEL, self._notified)
            version = await catalogue_version(conn)
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        self._lost.clear()
        self.listening = True
        return version

    async def _disconnect(self) -> None:
        self.listening = False
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await conn.close(timeout=1.0)

    async def _alive(self) -> bool:
        conn = self._conn
        if conn is None:
            return False
        try:
            await conn.fetchval(PING_LISTENER, timeout=self._connect_timeout)
        except Exception:
            return False
        return True

    def _terminated(self, _conn: object) -> None:
        self.listening = False
        self._lost.set()

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        notice = parse_notice(str(payload))
        if notice is None:
            log.warning("ignoring an unknown invalidation notice %r", payload)
            return
        self._on_notice(notice)

    async def _watch(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._lost.wait(), timeout=self._ping_interval)
            except TimeoutError:
                if await self._alive():
                    continue
            await self._disconnect()
            log.warning("invalidation listener lost its connection; reconnecting")
            delay, attempts = RECONNECT_MIN, 0
            while True:
                try:
                    version = await self._connect()
                    break
                except Exception as exc:  # keep trying: the caches stay bypassed meanwhile
                    attempts += 1
                    # The first failure and then one a minute: an outage is not a log flood.
                    if attempts == 1 or attempts % 30 == 0:
                        log.warning(
                            "invalidation listener cannot reconnect (%r); caches bypassed", exc
                        )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RECONNECT_MAX)
            self.reconnects += 1
            result = self._on_gap(version)
            if result is not None:
                await result
