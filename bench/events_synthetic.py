"""Lookup events without a server: a cached lookup batch as the server makes one, what logging it
costs this process, PostgreSQL's share stored at a fixed rate, and pinning processes to a CPU so
that the two are measured apart (bench/events_overhead.py)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid

import asyncpg

from db.analytics import write_lookup_batches
from loaders.lookup import LookupBatch
from monitoring.events import LookupEventBuffer, batches_document

SERVER_CPU, OTHERS_CPU = 0, 1


def pinning_possible() -> bool:
    return hasattr(os, "sched_setaffinity") and {SERVER_CPU, OTHERS_CPU} <= os.sched_getaffinity(0)


def pin(pids: list[int], cpu: int) -> None:
    for pid in pids:
        try:
            os.sched_setaffinity(pid, {cpu})
        except (PermissionError, ProcessLookupError) as exc:
            print(f"could not pin process {pid} to CPU {cpu}: {exc}", file=sys.stderr)


def cached_batch(slugs: list[str], uuids: list[str], milliseconds: float) -> LookupBatch:
    """A lookup batch answered wholly from the cache: the bench's cached 20-slug request."""
    return LookupBatch(
        slugs=slugs,
        uuids=uuids,
        cache_hits=(True,) * len(slugs),
        answered=(True,) * len(slugs),
        cache_ms=milliseconds,
        elapsed_ms=milliseconds,
        error_kind=None,
        degraded=True,
    )


def logging_cpu_per_request(slugs: list[str], repeat: int = 4000) -> float:
    """Seconds of CPU that event logging adds to one cached 20-slug request in this process:
    the lookup's batch, the buffer's append, and the writer's share of the document it COPYs
    (25 requests a write; the COPY's own cost and PostgreSQL's are not counted here)."""
    buffer = LookupEventBuffer(
        None,  # type: ignore[arg-type]  # no writer is started: only the in-process work is timed
        capacity=repeat * len(slugs),
    )
    uuids = {slug: str(uuid.uuid4()) for slug in slugs}
    per_write = 500 // len(slugs)
    started = time.process_time()
    pending = []
    for _ in range(repeat):
        batch = cached_batch(slugs, [uuids[slug] for slug in slugs], milliseconds=0.3)
        buffer.on_lookups(batch)
        pending.append((0.0, batch))
        if len(pending) == per_write:
            batches_document(pending)
            pending.clear()
    return (time.process_time() - started) / repeat


async def synthetic_writer(
    url: str, slugs: list[str], events_per_second: float, stop: asyncio.Event, pinned: bool
) -> int:
    """Store lookup events as the event writer does (500 a COPY, through the same view and
    trigger) at `events_per_second`, until `stop`: PostgreSQL's share of logging, with no
    server logging anything. Returns the events stored."""
    batch = cached_batch(
        [f"control-{slug}" for slug in slugs],  # told apart from the real ones
        [str(uuid.uuid4()) for _ in slugs],
        milliseconds=0.05,
    )
    per_write = 500 // len(slugs)
    document = batches_document([(time.time(), batch)] * per_write)
    conn = await asyncpg.connect(url)
    try:
        if pinned:
            pin([await conn.fetchval("SELECT pg_backend_pid()")], OTHERS_CPU)
        stored = 0
        loop = asyncio.get_running_loop()
        next_write = loop.time()
        while not stop.is_set():
            await write_lookup_batches(conn, document)
            stored += per_write * len(slugs)
            next_write += per_write * len(slugs) / events_per_second
            await asyncio.sleep(max(0.0, next_write - loop.time()))
    finally:
        await conn.close()
    return stored
