"""`LookupEventBuffer`: every lookup event into a bounded buffer, written to `analytics_events`
by a background task in batches, one COPY per batch.

The request path only appends the lookup's `LookupBatch` to a deque: no await, no I/O, no
per-slug work. The buffer counts events (slugs), not batches: `capacity` and `batch_size` are
in events, and a batch is split where a limit falls inside it. When the database is down the
buffer fills, then drops its oldest events and counts them: memory is bounded by `capacity`
events, whatever happens. A write takes its batch off the buffer and, if it fails, puts it back
at the front, so a failed write is retried with the next flush rather than lost. While a write
is in flight its events are still buffered, the oldest: the drop policy reaches them first, and
those it reached are dropped only if the write fails. A write that PostgreSQL
rejects for its content is retried once with the text made storable, then dropped, so it can
never wedge the writer. The table's upkeep (`upkeep`) is not the writer's: the app runs it as a
periodic task, on the writer's connection between writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import orjson
from asyncpg.pool import PoolConnectionProxy

from db.analytics import maintain_events, write_lookup_batches
from loaders.lookup import LookupBatch
from monitoring import metrics

log = logging.getLogger("jobwizard.events")

# How long shutdown may spend writing what is left before giving up on it.
SHUTDOWN_FLUSH_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class EventRetention:
    """The upkeep of analytics_events, every `interval` seconds: day partitions created
    `days_ahead`, raw events kept `event_days`, rollups `rollup_days` (and folded)."""

    interval: float = 60.0
    days_ahead: int = 3
    event_days: int = 7
    rollup_days: int = 400


@dataclass(frozen=True, slots=True)
class BufferStatus:
    enabled: bool
    buffered: int
    capacity: int
    dropped: int
    written: int
    write_errors: int

    @property
    def fill(self) -> float:
        return self.buffered / self.capacity


def batches_document(
    batches: Sequence[tuple[float, LookupBatch]], *, storable: bool = False
) -> str:
    """`(unix time, batch)` pairs as the JSON document the writer COPYs (its layout is in
    migration 006). One orjson call for the whole write: no per-slug work in Python. With
    `storable`, NUL characters (which PostgreSQL text cannot hold) become U+FFFD."""
    if storable:
        batches = [
            (
                ts,
                batch._replace(
                    slugs=[_storable(slug) for slug in batch.slugs],
                    error_kind=None if batch.error_kind is None else _storable(batch.error_kind),
                ),
            )
            for ts, batch in batches
        ]
    # After the slots, the batch's cache hits and answered slots counted: the database rolls
    # the events up per batch from these, instead of counting them slot by slot.
    return orjson.dumps(
        [
            (
                ts,
                b.cache_ms,
                b.elapsed_ms,
                b.error_kind,
                b.degraded,
                *b[:4],
                sum(b.cache_hits),
                sum(b.answered),
            )
            for ts, b in batches
        ]
    ).decode()


def _storable(text: str) -> str:
    return text.replace("\x00", "\ufffd")


class LookupEventBuffer:
    """A `LookupObserver` that buffers events and writes them in the background."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        capacity: int = 10_000,
        flush_interval: float = 1.0,
        batch_size: int = 500,
    ) -> None:
        if capacity < 1 or batch_size < 1 or flush_interval <= 0:
            raise ValueError("capacity, batch_size and flush_interval must be positive")
        self._pool = pool
        self._capacity = capacity
        self._interval = flush_interval
        self._batch_size = batch_size
        # (unix time, batch) waiting to be written, oldest first. A batch being written is off
        # this queue; `_in_flight` counts its events the drop policy has not reached, and
        # `_buffered` those plus the queue's.
        self._batches: deque[tuple[float, LookupBatch]] = deque()
        self._in_flight = 0
        self._buffered = 0
        self._dropped = 0
        self._written = 0
        self._write_errors = 0
        self._failing = False
        self._wake = asyncio.Event()
        self._tick_due = False  # set by the ticker: write everything, partial batch included
        self._ticker: asyncio.TimerHandle | None = None
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        # The writer keeps one connection while its writes succeed: taking it from the pool and
        # giving it back for every write cost more than the write. Given back on any error, so
        # that the pool replaces a broken one. The lock keeps two flushes off it at once.
        self._conn: PoolConnectionProxy | None = None
        self._lock = asyncio.Lock()

    # --- request path ---------------------------------------------------------------------
    def on_lookups(self, batch: LookupBatch) -> None:
        count = batch.size
        if not count:
            return
        self._batches.append((time.time(), batch))
        self._buffered += count
        if self._buffered > self._capacity:
            self._drop_overflow()
        # Wake the writer early for a full batch, but not while the database is failing:
        # then the writer retries on its own clock instead of spinning on every request.
        if self._buffered >= self._batch_size and not self._failing:
            self._wake.set()

    def _drop_overflow(self) -> None:
        """Past `capacity`, drop the oldest events and count them."""
        overflow = self._buffered - self._capacity
        if overflow > 0:
            reached = min(overflow, self._in_flight)  # counted when their write fails
            self._in_flight -= reached
            self._buffered -= overflow
            self._discard(overflow - reached)
            self._count_dropped(overflow - reached)

    def _count_dropped(self, count: int) -> None:
        if count > 0:
            self._dropped += count
            metrics.EVENTS_DROPPED.inc(count)

    def _discard(self, count: int) -> None:
        """Remove the `count` oldest events from the queue, splitting a batch where the count
        ends in it (the callers keep `_buffered`)."""
        batches = self._batches
        while count > 0:
            ts, batch = batches[0]
            if batch.size <= count:
                batches.popleft()
                count -= batch.size
            else:
                batches[0] = (ts, batch.part(count, batch.size))
                count = 0

    def _oldest(self, limit: int) -> tuple[list[tuple[float, LookupBatch]], int]:
        """The oldest events, up to `limit` of them (the last batch cut to fit), left in place;
        and how many there are."""
        taken: list[tuple[float, LookupBatch]] = []
        room = limit
        for ts, batch in self._batches:
            if room <= 0:
                break
            if batch.size > room:
                batch = batch.part(0, room)
            taken.append((ts, batch))
            room -= batch.size
        return taken, limit - room

    def _take(self, limit: int) -> tuple[list[tuple[float, LookupBatch]], int]:
        """The oldest events, up to `limit` of them, taken off the queue for a write."""
        taken, count = self._oldest(limit)
        self._discard(count)
        self._in_flight = count
        return taken, count

    def _write_done(self) -> None:
        self._buffered -= self._in_flight
        self._in_flight = 0

    def _put_back(self, batches: list[tuple[float, LookupBatch]], count: int) -> None:
        """After a failed write: its events the drop policy reached meanwhile (the oldest) are
        dropped now; the others go back to the front of the queue, still buffered."""
        lost, self._in_flight = count - self._in_flight, 0
        self._count_dropped(lost)
        kept: list[tuple[float, LookupBatch]] = []
        for ts, batch in batches:
            if lost >= batch.size:
                lost -= batch.size
                continue
            kept.append((ts, batch.part(lost, batch.size) if lost else batch))
            lost = 0
        self._batches.extendleft(reversed(kept))

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="lookup-event-writer")
            self._schedule_tick()

    def _schedule_tick(self) -> None:
        # A repeating timer rather than a timeout on each wait: a timeout per write (wait_for
        # makes a task of its own) was a good part of the writer's cost under load.
        self._ticker = asyncio.get_running_loop().call_later(self._interval, self._tick)

    def _tick(self) -> None:
        self._tick_due = True
        self._wake.set()
        self._schedule_tick()

    async def stop(self, grace: float = SHUTDOWN_FLUSH_TIMEOUT) -> None:
        """Stop the writer and write what is still buffered (bounded by `grace` seconds)."""
        self._stopping = True
        self._wake.set()
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        if self._task is not None:
            task, self._task = self._task, None
            # A writer stuck on an unreachable database is cancelled; its batch stays buffered.
            done, _ = await asyncio.wait({task}, timeout=grace)
            if not done:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await asyncio.wait_for(self._drain(), grace)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("shutdown: %d lookup event(s) not written (%s)", self._buffered, exc)
        await self._release()

    async def close(self) -> None:
        """Graceful shutdown: stop, write what is left, release the writer's connection."""
        await self.stop()
        await self._pool.close()

    def status(self) -> BufferStatus:
        return BufferStatus(
            enabled=True,
            buffered=self._buffered,
            capacity=self._capacity,
            dropped=self._dropped,
            written=self._written,
            write_errors=self._write_errors,
        )

    # --- writer -----------------------------------------------------------------------------
    async def flush(self, *, full_batches_only: bool = False) -> int:
        """Write the events buffered when the flush begins, one COPY per batch of up to
        `batch_size`; return the events written. With `full_batches_only`, a last partial batch
        waits for the timer. Raises the database error of a failed batch, leaving it (and later
        ones) buffered.

        Events that arrive while it writes wait for the next flush (a full batch wakes the
        writer at once): under steady traffic a flush that went on to write them would never
        end, and would write the few events each COPY's round trip let in, one COPY each."""
        total = 0
        async with self._lock:
            due = self._buffered
            batch_size = self._batch_size
            while self._buffered and due >= (batch_size if full_batches_only else 1):
                batches, count = self._take(min(batch_size, due))
                due -= count
                try:
                    stored = await self._write(batches, count)
                except BaseException:  # cancelled included: the batch must not be lost
                    self._put_back(batches, count)
                    await self._release()
                    raise
                self._write_done()
                if stored:
                    self._written += count
                    metrics.EVENTS_WRITTEN.inc(count)
                    total += count
                else:
                    self._count_dropped(count)
        return total

    async def _drain(self) -> None:
        """Flush until nothing is buffered: what arrives during one flush is left to the next."""
        while self._buffered:
            await self.flush()

    async def _release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):  # a broken connection is the pool's to replace
                await self._pool.release(conn)

    async def _write(self, batches: list[tuple[float, LookupBatch]], count: int) -> bool:
        """Write `batches` (`count` events); False when PostgreSQL rejects their content even
        once made storable: they are then dropped, as retrying cannot help and keeping them
        would block every later event behind them."""
        if self._conn is None:
            self._conn = await self._pool.acquire()
        conn = self._conn
        try:
            await write_lookup_batches(conn, batches_document(batches))
        except asyncpg.DataError:
            try:
                await write_lookup_batches(conn, batches_document(batches, storable=True))
            except asyncpg.DataError as exc:
                log.error("%d lookup event(s) dropped, PostgreSQL rejects them: %r", count, exc)
                return False
        return True

    async def _run(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            if self._stopping:
                break
            # Woken by a full batch: write full batches only, so N events cost ceil(N/500)
            # writes. By the ticker: write everything, so no event waits more than a tick.
            on_timer, self._tick_due = self._tick_due, False
            if self._failing and not on_timer:
                continue  # while the database fails, retry on the clock, not per request
            try:
                await self.flush(full_batches_only=not on_timer)
            except Exception as exc:  # never let the writer die; the next tick retries
                self._write_errors += 1
                if not self._failing:
                    log.warning("lookup events not written, will retry: %r", exc)
                self._failing = True
                metrics.EVENT_WRITE_ERRORS.inc()
            else:
                if self._failing:
                    log.info("lookup events written again")
                self._failing = False
            metrics.EVENT_BUFFER_FILL.set(self._buffered)

    async def upkeep(self, retention: EventRetention) -> None:
        """Partitions ahead, expired events and rollups gone, recent rollups folded: on the
        writer's connection (its pool has one), between writes. Skipped while writes fail: the
        database is away, and the next run does the same work. Other errors reach the caller."""
        if self._failing:
            return
        async with self._lock:
            try:
                if self._conn is None:
                    self._conn = await self._pool.acquire()
                done = await maintain_events(
                    self._conn,
                    days_ahead=retention.days_ahead,
                    event_retention_days=retention.event_days,
                    rollup_retention_days=retention.rollup_days,
                )
            except asyncpg.LockNotAvailableError as exc:
                # Its locks not granted in time (busy readers): expected now and then.
                log.warning("analytics_events upkeep gave up on its locks, will retry: %r", exc)
                return
            except BaseException:
                await self._release()
                raise
        if done.partitions_created or done.partitions_dropped:
            log.info(
                "analytics_events: %d day partition(s) created, %d dropped",
                done.partitions_created,
                done.partitions_dropped,
            )
