"""Reads on a streaming replica (`DATABASE_REPLICA_URL`), and when to leave it for the primary.

`Replica` watches one replica from the process: every `interval` it reads the primary's WAL
position and the replica's replay position, and measures the lag as how long ago the replica
was first seen behind the oldest position it has not replayed yet (so an idle primary shows no
lag, and no clock of either server is trusted). The replica is used while it answers and lags
less than `max_lag`; otherwise reads go to the primary, with no error to anyone, until a check
finds it well again.

A catalogue notice makes the replica unusable at once, before any request can read it: the
checker then reads the primary's position (at or past the change, which was committed before
its notice was sent) and waits, checking often, until the replica has replayed that far. So a
cache refilled after a notice is never filled from a replica that has not seen the change.

`ReadRoute` is what a reader holds: the pool to read from now, and a way to say that a read on
the replica failed (the replica is then left at once, and the read is tried on the primary).
Writes, and reads of what a caller has just written (jobs, keys), never use a route.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import asyncpg

from db.errors import is_transient

T = TypeVar("T")

log = logging.getLogger(__name__)

# Positions as numbers (bytes since 0/0): asyncpg has no codec for pg_lsn. The insert position,
# not the write position: with `synchronous_commit = off` a commit (and its notice) can come
# before its record is written out, and a replica at the write position has not got it.
SELECT_PRIMARY_POSITION = "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint"
# NULL position: not a replica (pointed at a primary, or promoted): always up to date.
SELECT_REPLAY_POSITION = (
    "SELECT CASE WHEN pg_is_in_recovery() "
    "THEN pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint END"
)

NONE = "none"  # no replica configured
OK = "ok"
LAGGING = "lagging"
DOWN = "down"
CATCHING_UP = "catching_up"  # a catalogue change is not replayed there yet
UNKNOWN = "unknown"  # not checked yet

# Positions remembered while the replica is behind; enough for minutes of one-second checks.
_MAX_PENDING = 512
# How often the checker looks while it waits for the replica to replay a catalogue change.
CATCH_UP_INTERVAL = 0.02


@dataclass(frozen=True, slots=True)
class ReplicaStatus:
    state: str
    lag_seconds: float | None  # None until measured, and while the replica does not answer
    fallbacks: int  # reads that failed on the replica and were answered by the primary


class Replica:
    """The replica's health, checked in the background (`start`, `close`)."""

    def __init__(
        self,
        primary: asyncpg.Pool,
        replica: asyncpg.Pool,
        *,
        max_lag: float,
        interval: float,
        probe_timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.pool = replica
        self.max_lag = max_lag
        self.interval = interval
        self.probe_timeout = probe_timeout
        self._clock = clock
        self._answering = False
        self._lag: float | None = None
        self._pending: collections.deque[tuple[int, float]] = collections.deque()
        # Catalogue notices not yet known to be replayed (a counter, so one arriving during a
        # catch-up is waited for too).
        self._changes = 0
        self._replayed_changes = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._checked = False
        self.fallbacks = 0

    @property
    def usable(self) -> bool:
        return (
            self._answering
            and self._changes == self._replayed_changes
            and self._lag is not None
            and self._lag <= self.max_lag
        )

    def status(self) -> ReplicaStatus:
        if not self._checked:
            state = UNKNOWN
        elif not self._answering:
            state = DOWN
        elif self._changes != self._replayed_changes:
            state = CATCHING_UP
        elif self._lag is not None and self._lag > self.max_lag:
            state = LAGGING
        else:
            state = OK
        return ReplicaStatus(state, self._lag if self._answering else None, self.fallbacks)

    def catalogue_changed(self) -> None:
        """A catalogue notice arrived: leave the replica until it has replayed the change."""
        self._changes += 1
        self._wake.set()

    def failed(self, exc: BaseException) -> None:
        """A read on the replica failed with an infrastructure fault: leave it at once."""
        if self._answering:
            log.warning("read replica failed (%r); reading from the primary", exc)
        self._answering = False
        self.fallbacks += 1
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="replica-checker")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def check(self) -> None:
        """One look at both positions; the state follows from it."""
        changes = self._changes
        self._checked = True
        try:
            async with asyncio.timeout(self.probe_timeout):
                primary = int(await self.primary.fetchval(SELECT_PRIMARY_POSITION))
        except Exception as exc:
            if not is_transient(exc):
                raise
            return  # the primary is away: nothing to compare with, the state stays as it was
        now = self._clock()
        newer = not self._pending or primary > self._pending[-1][0]
        if newer and len(self._pending) < _MAX_PENDING:
            self._pending.append((primary, now))
        try:
            async with asyncio.timeout(self.probe_timeout):
                replayed = await self.pool.fetchval(SELECT_REPLAY_POSITION)
        except Exception as exc:  # whatever the reason (away, or no such database yet): unusable
            if self._answering:
                log.warning("read replica does not answer (%r); reading from the primary", exc)
            self._answering, self._lag = False, None
            self._pending.clear()
            return
        if replayed is None:  # not in recovery: it has everything
            self._pending.clear()
        else:
            while self._pending and self._pending[0][0] <= replayed:
                self._pending.popleft()
        was = self.usable
        self._lag = (now - self._pending[0][1]) if self._pending else 0.0
        self._answering = True
        if replayed is None or replayed >= primary:
            # Every notice counted before the primary's position was read is replayed.
            self._replayed_changes = changes
        if self.usable != was:
            log.info("read replica %s (lag %.3f s)", self.status().state, self._lag)

    async def _run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:  # a fault of our own: logged, and checked again next time
                log.exception("read replica check failed")
            catching_up = self._changes != self._replayed_changes
            timeout = CATCH_UP_INTERVAL if catching_up else self.interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)
            self._wake.clear()


class ReadRoute:
    """Where one kind of read goes: `primary`, or the replica's pool while it is usable."""

    def __init__(
        self,
        primary: asyncpg.Pool,
        replica_pool: asyncpg.Pool | None = None,
        replica: Replica | None = None,
    ) -> None:
        self.primary = primary
        self._replica_pool = replica_pool if replica is not None else None
        self.replica = replica

    def pool(self) -> asyncpg.Pool:
        replica = self.replica
        if replica is not None and self._replica_pool is not None and replica.usable:
            return self._replica_pool
        return self.primary

    def failed(self, pool: asyncpg.Pool, exc: BaseException) -> bool:
        """Whether a read that failed on `pool` with `exc` should be tried on the primary
        (it ran on the replica and the fault is the infrastructure's)."""
        if self.replica is None or pool is self.primary or not is_transient(exc):
            return False
        self.replica.failed(exc)
        return True

    async def read(self, run: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
        """`run` on the pool to read from now; on the primary again if the replica failed."""
        pool = self.pool()
        try:
            return await run(pool)
        except Exception as exc:
            if not self.failed(pool, exc):
                raise
        return await run(self.primary)
