"""`LookupEventBuffer`: every lookup event into a bounded buffer, written to `analytics_events`
by a background task in batches, one COPY per batch.

The request path only appends to a deque (no await, no I/O, no serialisation). When the
database is down the buffer fills, then drops its oldest events and counts them: memory is
bounded by `capacity` whatever happens. A batch is removed from the buffer only once its COPY
succeeded, so a failed write is retried with the next flush rather than lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from json.encoder import encode_basestring_ascii
from uuid import UUID

import asyncpg

from db.analytics import UUID_LOOKUP_EVENT, copy_events
from loaders.lookup import LookupEvent
from monitoring import metrics

log = logging.getLogger("jobwizard.events")

# How long shutdown may spend writing what is left before giving up on it.
SHUTDOWN_FLUSH_TIMEOUT = 5.0


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


# The properties are formatted by hand: json.dumps of a dict was 6 us an event, most of the
# logging cost of a cached request; this is under 1 us. Strings go through the json module's
# own C escaper, so the output is the same JSON. The UUID text is cached: the catalogue is small.
_PROPERTIES = (
    '{"slug":%s,"uuid":%s,"lookup_time_ms":%r,"cache_hit":%s,"success":%s,'
    '"fallback_used":%s,"error_kind":%s}'
)
_JSON_BOOL = {True: "true", False: "false"}
_uuid_text: dict[UUID, str] = {}


def _json_uuid(value: UUID | None) -> str:
    if value is None:
        return "null"
    text = _uuid_text.get(value)
    if text is None:
        if len(_uuid_text) >= 10_000:
            _uuid_text.clear()
        text = _uuid_text[value] = f'"{value}"'
    return text


def event_properties(event: LookupEvent) -> str:
    """The event as the JSON text of `analytics_events.event_properties`."""
    return _PROPERTIES % (
        encode_basestring_ascii(event.slug),
        _json_uuid(event.uuid),
        float(event.lookup_time_ms),
        _JSON_BOOL[event.cache_hit],
        _JSON_BOOL[event.success],
        _JSON_BOOL[event.fallback_used],
        "null" if event.error_kind is None else encode_basestring_ascii(event.error_kind),
    )


def copy_rows(batch: Sequence[tuple[float, LookupEvent]]) -> bytes:
    """`(unix time, event)` pairs as COPY text-format rows of analytics_events."""
    lines = []
    prefix = f"{UUID_LOOKUP_EVENT}\t"
    last_ts, suffix = -1.0, ""
    for ts, event in batch:
        if ts != last_ts:  # the events of one lookup share their timestamp
            last_ts, suffix = ts, f"\t{datetime.fromtimestamp(ts, UTC).isoformat()}\n"
        # The JSON has no raw tab or newline (its escaper encodes them); its backslashes are
        # doubled, as COPY's text format reads a backslash as an escape.
        lines.append(prefix + event_properties(event).replace("\\", "\\\\") + suffix)
    return "".join(lines).encode()


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
        # (unix time, event); maxlen makes append drop the oldest entry by itself.
        self._buffer: deque[tuple[float, LookupEvent]] = deque(maxlen=capacity)
        self._appended = 0  # ever appended: the absolute index of the next event
        self._dropped = 0
        self._written = 0
        self._write_errors = 0
        self._failing = False
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    # --- request path ---------------------------------------------------------------------
    def on_lookups(self, events: Sequence[LookupEvent]) -> None:
        count = len(events)
        if not count:
            return
        overflow = len(self._buffer) + count - self._capacity
        if overflow > 0:
            self._dropped += overflow
            metrics.EVENTS_DROPPED.inc(overflow)
        now = time.time()
        self._buffer.extend((now, event) for event in events)
        self._appended += count
        # Wake the writer early for a full batch, but not while the database is failing:
        # then the writer retries on its own clock instead of spinning on every request.
        if len(self._buffer) >= self._batch_size and not self._failing:
            self._wake.set()

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="lookup-event-writer")

    async def stop(self, grace: float = SHUTDOWN_FLUSH_TIMEOUT) -> None:
        """Stop the writer and write what is still buffered (bounded by `grace` seconds)."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            task, self._task = self._task, None
            # A writer stuck on an unreachable database is cancelled; its batch stays buffered.
            done, _ = await asyncio.wait({task}, timeout=grace)
            if not done:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await asyncio.wait_for(self.flush(), grace)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("shutdown: %d lookup event(s) not written (%s)", len(self._buffer), exc)

    async def close(self) -> None:
        """Graceful shutdown: stop, write what is left, release the writer's connection."""
        await self.stop()
        await self._pool.close()

    def status(self) -> BufferStatus:
        return BufferStatus(
            enabled=True,
            buffered=len(self._buffer),
            capacity=self._capacity,
            dropped=self._dropped,
            written=self._written,
            write_errors=self._write_errors,
        )

    # --- writer -----------------------------------------------------------------------------
    async def flush(self, *, full_batches_only: bool = False) -> int:
        """Write what is buffered now, one COPY per batch of up to `batch_size`; return the
        events written. With `full_batches_only`, a last partial batch waits for the timer.
        Raises the database error of a failed batch, leaving it (and later ones) buffered."""
        total = 0
        while self._buffer and not (full_batches_only and len(self._buffer) < self._batch_size):
            start = self._appended - len(self._buffer)  # absolute index of the oldest
            batch = list(islice(self._buffer, self._batch_size))
            async with self._pool.acquire() as conn:
                await copy_events(conn, copy_rows(batch))
            # Events may have been appended, or the oldest dropped, while COPY ran: remove
            # exactly those of this batch that are still at the front.
            head = self._appended - len(self._buffer)
            for _ in range(max(0, start + len(batch) - head)):
                self._buffer.popleft()
            self._written += len(batch)
            metrics.EVENTS_WRITTEN.inc(len(batch))
            total += len(batch)
        return total

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._interval
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, deadline - loop.time()))
            self._wake.clear()
            if self._stopping:
                break
            # Woken by a full batch: write full batches only, so N events cost ceil(N/500)
            # writes. On the timer: write everything, so no event waits more than a tick.
            on_timer = loop.time() >= deadline
            try:
                await self.flush(full_batches_only=not on_timer)
            except Exception as exc:  # never let the writer die; the next tick retries
                self._write_errors += 1
                if not self._failing:
                    log.warning("lookup events not written, will retry: %r", exc)
                self._failing = True
                metrics.EVENT_WRITE_ERRORS.inc()
                deadline = loop.time() + self._interval  # retry on the clock, not per request
            else:
                if self._failing:
                    log.info("lookup events written again")
                self._failing = False
                if on_timer:
                    deadline = loop.time() + self._interval
            metrics.EVENT_BUFFER_FILL.set(len(self._buffer))
