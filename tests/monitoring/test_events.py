import asyncio
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import asyncpg
import pytest
from asyncpg.transaction import Transaction

from app.components import event_upkeep
from app.periodic import Periodic
from domain.catalogue import Catalogue
from loaders.lookup import LookupBatch
from monitoring.events import EventRetention, LookupEventBuffer
from tests.support import AppHarness, running_app
from tests.support.outage import database_outage
from tests.support.polling import eventually

# The writer's COPY into the batches view, queued behind the lock on analytics_events that its
# trigger needs.
WRITER_WAITING_ON_LOCK = """
SELECT count(*) > 0 FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid()
   AND query LIKE '%uuid_lookup_batches%' AND wait_event_type = 'Lock'
"""
LOOKUP_20 = "query Lookup($slugs: [String!]) { microServices(slugs: $slugs) { id } }"


def batch(slugs: list[str], ms: float = 1.0) -> LookupBatch:
    """A batch of database answers, one per slug."""
    return LookupBatch(
        slugs=slugs,
        uuids=[str(uuid4()) for _ in slugs],
        cache_hits=[False] * len(slugs),
        answered=[True] * len(slugs),
        cache_ms=0.1,
        elapsed_ms=ms,
        error_kind=None,
        degraded=True,
    )


def names(start: int, stop: int) -> list[str]:
    return [f"s{i:04}" for i in range(start, stop)]


async def stored(url: str) -> tuple[int, int, list[str]]:
    """(events, COPY writes, slugs in insertion order). Every COPY is one transaction, so the
    distinct xmin values count the writes PostgreSQL actually received."""
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS n, count(DISTINCT xmin::text) AS writes FROM analytics_events"
        )
        slugs = await conn.fetch(
            "SELECT event_properties ->> 'slug' AS slug FROM analytics_events ORDER BY id"
        )
    finally:
        await conn.close()
    assert row is not None
    return row["n"], row["writes"], [r["slug"] for r in slugs]


def _waiting_on_lock(watcher: asyncpg.Connection) -> Callable[[], Awaitable[bool]]:
    async def waiting() -> bool:
        return bool(await watcher.fetchval(WRITER_WAITING_ON_LOCK))

    return waiting


@dataclass
class HeldCopies:
    """Every COPY into analytics_events waits until `release()` (or the end of the block)."""

    watcher: asyncpg.Connection  # a session of its own: pg_stat_activity is a snapshot per
    # transaction, so the writer's wait is polled from outside the locking one
    _locking: Transaction

    async def writer_waiting(self) -> None:
        await eventually(_waiting_on_lock(self.watcher), what="the writer reached its COPY")

    async def release(self) -> None:
        await self._locking.rollback()


@asynccontextmanager
async def copies_held(url: str) -> AsyncIterator[HeldCopies]:
    blocker = await asyncpg.connect(url)
    watcher = await asyncpg.connect(url)
    try:
        locking = blocker.transaction()
        await locking.start()
        await blocker.execute("LOCK TABLE analytics_events IN ACCESS EXCLUSIVE MODE")
        yield HeldCopies(watcher, locking)
    finally:
        await blocker.close()
        await watcher.close()


async def test_n_lookups_produce_n_events_in_at_most_ceil_n_over_500_writes(
    empty_database_url: str, catalogue: Catalogue
) -> None:
    slugs = sorted(catalogue.by_slug)[:20]
    requests = 63  # 1,260 lookups: two full batches of 500 and a remainder
    async with running_app(empty_database_url, event_flush_interval=30.0) as api:
        for _ in range(requests):
            body = await api.graphql(LOOKUP_20, {"slugs": slugs})
            assert len(body["data"]["microServices"]) == 20
    # The app has shut down: its last partial batch was flushed then, not lost.
    count, writes, _ = await stored(empty_database_url)
    n = requests * len(slugs)
    assert count == n
    assert 1 <= writes <= math.ceil(n / 500)


async def test_event_properties_describe_the_lookup(
    empty_database_url: str, catalogue: Catalogue
) -> None:
    slug = "wall-painting"
    async with running_app(empty_database_url, event_flush_interval=30.0) as api:
        await api.graphql(LOOKUP_20, {"slugs": [slug, "no-such-slug"]})
    conn = await asyncpg.connect(empty_database_url)
    try:
        rows = await conn.fetch(
            "SELECT event_name, event_properties::text AS p FROM analytics_events "
            "ORDER BY event_properties ->> 'slug'"
        )
        expected_uuid = await conn.fetchval(
            "SELECT id::text FROM micro_services WHERE slug = $1", slug
        )
    finally:
        await conn.close()
    props = [json.loads(r["p"]) for r in rows]
    assert [r["event_name"] for r in rows] == ["uuid_lookup", "uuid_lookup"]
    assert props[0]["slug"] == "no-such-slug"
    assert props[0]["uuid"] is None
    assert props[0]["success"] is True  # a definite "no such slug" is an answer
    assert props[1]["slug"] == slug
    assert props[1]["uuid"] == expected_uuid
    for p in props:
        assert set(p) == {
            "slug",
            "uuid",
            "lookup_time_ms",
            "cache_hit",
            "success",
            "fallback_used",
            "error_kind",
        }
        assert p["lookup_time_ms"] > 0


async def test_the_timer_writes_a_partial_batch_without_waiting_for_500(
    events_pool: asyncpg.Pool, migrated_url: str
) -> None:
    buffer = LookupEventBuffer(events_pool, flush_interval=0.2, batch_size=500)
    buffer.start()
    try:
        buffer.on_lookups(batch(names(0, 30)))

        async def all_written() -> bool:
            return (await stored(migrated_url))[0] >= 30

        await eventually(all_written, timeout=5, interval=0.05, what="the 30 events written")
    finally:
        await buffer.stop()
    assert buffer.status().buffered == 0
    assert buffer.status().written == 30


async def test_shutdown_flushes_what_is_buffered(
    events_pool: asyncpg.Pool, migrated_url: str
) -> None:
    buffer = LookupEventBuffer(events_pool, flush_interval=60.0, batch_size=500)
    buffer.start()
    buffer.on_lookups(batch(names(0, 37)))
    await asyncio.sleep(0.1)
    assert (await stored(migrated_url))[0] == 0  # neither 500 events nor a minute yet
    await buffer.stop()
    count, writes, slugs = await stored(migrated_url)
    assert (count, writes) == (37, 1)
    assert slugs == names(0, 37)


async def test_an_outage_drops_the_oldest_events_counts_them_and_keeps_memory_bounded(
    events_pool: asyncpg.Pool, migrated_url: str, server_url: str
) -> None:
    capacity = 100
    buffer = LookupEventBuffer(events_pool, capacity=capacity, flush_interval=0.1, batch_size=50)
    buffer.start()
    try:
        async with database_outage(server_url, migrated_url):
            for start in range(0, 1000, 20):
                buffer.on_lookups(batch(names(start, start + 20)))
                assert buffer.status().buffered <= capacity
                await asyncio.sleep(0.01)  # let the writer try, and fail
            status = buffer.status()
            assert status.buffered == capacity
            assert status.dropped == 1000 - capacity
            assert status.written == 0
            assert status.write_errors >= 1
        # The database is back: the writer catches up on its own, newest events kept.
        await eventually(lambda: not buffer.status().buffered, what="the writer recovered")
    finally:
        await buffer.stop()
    count, _, slugs = await stored(migrated_url)
    assert count == capacity
    assert slugs == names(1000 - capacity, 1000)


async def test_a_request_never_waits_on_the_event_write(
    empty_database_url: str, catalogue: Catalogue
) -> None:
    slugs = sorted(catalogue.by_slug)[:20]

    async def lookups(api: AppHarness, count: int) -> None:
        for _ in range(count):
            body = await api.graphql(LOOKUP_20, {"slugs": slugs})
            assert len(body["data"]["microServices"]) == 20

    async with (
        running_app(empty_database_url, event_flush_interval=0.05) as api,
        copies_held(empty_database_url) as held,
    ):
        await asyncio.wait_for(lookups(api, 5), 10)
        await held.writer_waiting()
        # The writer is stuck on the lock; requests still answer (a request that awaited the
        # write would hang here and time out).
        await asyncio.wait_for(lookups(api, 35), 10)
        await held.release()
    count, _, _ = await stored(empty_database_url)
    assert count == 800


@pytest.mark.parametrize("write_succeeds", [True, False])
async def test_events_dropped_while_their_write_is_in_flight_are_counted_once(
    events_pool: asyncpg.Pool, migrated_url: str, write_succeeds: bool
) -> None:
    buffer = LookupEventBuffer(events_pool, capacity=10, flush_interval=60.0, batch_size=5)
    try:
        async with copies_held(migrated_url) as held:
            buffer.on_lookups(batch(names(0, 8)))
            flush = asyncio.create_task(buffer.flush())  # s0..s4 in flight, stuck on the lock
            await held.writer_waiting()
            # 20 events in a buffer of 10: s0..s9 leave it. s5..s9 are dropped now; s0..s4 only
            # if their write fails.
            buffer.on_lookups(batch(names(8, 20)))
            assert (buffer.status().buffered, buffer.status().dropped) == (10, 5)
            if not write_succeeds:
                await held.watcher.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND query LIKE '%uuid_lookup_batches%'"
                    " AND pid <> pg_backend_pid()"
                )
            await held.release()
            if write_succeeds:
                # s0..s4, then as many more as were buffered when it began (s10..s12): the rest
                # arrived during the flush and wait for the next one.
                assert await flush == 8
            else:
                with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
                    await flush
    finally:
        await buffer.stop()  # gives the writer's connection back to the pool
    status = buffer.status()
    assert status.written + status.dropped + status.buffered == 20
    _, _, slugs = await stored(migrated_url)
    if write_succeeds:
        assert (status.written, status.dropped) == (15, 5)
        assert slugs == names(0, 5) + names(10, 20)
    else:  # s0..s9 lost; stop() wrote the other 10 on a new connection
        assert (status.written, status.dropped, status.buffered) == (10, 10, 0)
        assert slugs == names(10, 20)


@pytest.mark.parametrize("full_batches_only", [False, True])
async def test_a_flush_writes_what_was_buffered_when_it_began_not_what_arrives_during_it(
    events_pool: asyncpg.Pool, migrated_url: str, full_batches_only: bool
) -> None:
    # Under steady traffic, a flush that went on to write what each write's round trip let in
    # never ended and wrote a few events per COPY.
    buffer = LookupEventBuffer(events_pool, flush_interval=60.0, batch_size=5)
    async with copies_held(migrated_url) as held:
        buffer.on_lookups(batch(names(0, 12)))
        flush = asyncio.create_task(buffer.flush(full_batches_only=full_batches_only))
        await held.writer_waiting()
        buffer.on_lookups(batch(names(12, 30)))  # arrive while s0..s4 are being written
        await held.release()
        written = await flush
    try:
        # Two full batches of the twelve, and with a partial one allowed their last two.
        assert written == (10 if full_batches_only else 12)
        assert buffer.status().buffered == 30 - written
        count, writes, slugs = await stored(migrated_url)
        assert (count, writes) == (written, 2 if full_batches_only else 3)
        assert slugs == names(0, written)
    finally:
        await buffer.stop()
    assert buffer.status().buffered == 0
    assert (await stored(migrated_url))[0] == 30


@pytest.mark.parametrize(
    ("capacity", "batch_size", "interval"), [(0, 500, 1.0), (10, 0, 1.0), (10, 500, 0.0)]
)
def test_a_buffer_needs_positive_sizes(capacity: int, batch_size: int, interval: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        LookupEventBuffer(
            None,  # type: ignore[arg-type]  # never reached
            capacity=capacity,
            batch_size=batch_size,
            flush_interval=interval,
        )


async def test_batches_split_where_the_write_size_falls_and_keep_their_order(
    events_pool: asyncpg.Pool, migrated_url: str
) -> None:
    buffer = LookupEventBuffer(events_pool, flush_interval=60.0, batch_size=7)
    for start in range(0, 40, 5):  # 8 lookups of 5 slugs: 40 events, 6 writes of <= 7
        buffer.on_lookups(batch(names(start, start + 5)))
    assert await buffer.flush() == 40
    await buffer.stop()
    count, writes, slugs = await stored(migrated_url)
    assert (count, writes) == (40, math.ceil(40 / 7))
    assert slugs == names(0, 40)
    assert buffer.status().buffered == 0


def test_the_capacity_counts_events_and_drops_the_oldest_inside_a_batch() -> None:
    buffer = LookupEventBuffer(None, capacity=10)  # type: ignore[arg-type]  # never writes
    buffer.on_lookups(batch(names(0, 6)))
    buffer.on_lookups(batch(names(6, 12)))
    assert (buffer.status().buffered, buffer.status().dropped) == (10, 2)
    buffer.on_lookups(batch(names(12, 40)))  # larger than the whole buffer
    assert (buffer.status().buffered, buffer.status().dropped) == (10, 30)
    kept, count = buffer._oldest(100)
    assert count == 10
    assert [slug for _, b in kept for slug in b.slugs] == names(30, 40)


async def test_a_nul_in_a_slug_is_stored_as_a_replacement_and_blocks_nothing(
    events_pool: asyncpg.Pool, migrated_url: str
) -> None:
    # PostgreSQL text cannot hold NUL: the write is rejected once, then made storable.
    buffer = LookupEventBuffer(events_pool, flush_interval=60.0)
    buffer.on_lookups(batch(["before"]))
    buffer.on_lookups(batch(["nul\x00slug"]))
    buffer.on_lookups(batch(["after"]))
    assert await buffer.flush() == 3
    await buffer.stop()
    _, _, slugs = await stored(migrated_url)
    assert slugs == ["before", "nul\ufffdslug", "after"]
    assert buffer.status().dropped == 0


async def test_shutdown_gives_up_on_a_hung_database_in_bounded_time(migrated_url: str) -> None:
    from db.analytics import create_events_pool
    from tests.support.proxy import proxy_to

    async with proxy_to(migrated_url) as proxy:
        pool = await create_events_pool(
            proxy.url_for(migrated_url), command_timeout=1.0, connect_timeout=1.0
        )
        buffer = LookupEventBuffer(pool, flush_interval=0.1)
        buffer.start()
        buffer.on_lookups(batch(names(0, 2)))
        # Then the writer holds its connection.
        await eventually(lambda: buffer.status().written >= 2, what="the first write")
        proxy.delay = 3600  # the database stops answering, the connection stays open
        buffer.on_lookups(batch(names(2, 4)))
        started = time.monotonic()
        await asyncio.wait_for(buffer.close(), 30)  # the server's shutdown must not hang
        assert time.monotonic() - started < 15
    status = buffer.status()
    assert (status.written, status.buffered, status.dropped) == (2, 2, 0)
    _, _, slugs = await stored(migrated_url)
    assert slugs == names(0, 2)


async def test_the_upkeep_task_keeps_partitions_ahead_and_folds_rollups_between_writes(
    events_pool: asyncpg.Pool, migrated_url: str
) -> None:
    ahead = datetime.now(UTC).date() + timedelta(days=6)
    buffer = LookupEventBuffer(events_pool, flush_interval=0.1, batch_size=500)
    upkeep = Periodic([event_upkeep(buffer, EventRetention(interval=0.2, days_ahead=6))])
    buffer.start()
    try:
        async with upkeep:
            for start in range(0, 100, 10):
                buffer.on_lookups(batch(names(start, start + 10)))
                await asyncio.sleep(0.05)  # several writes, so several delta rows
            conn = await asyncpg.connect(migrated_url)
            try:
                for _ in range(100):
                    await asyncio.sleep(0.05)
                    has_partition = await conn.fetchval(
                        "SELECT to_regclass($1) IS NOT NULL", f"analytics_events_{ahead:%Y%m%d}"
                    )
                    rows = await conn.fetchval("SELECT count(*) FROM uuid_lookup_minutes")
                    total = await conn.fetchval("SELECT sum(total) FROM uuid_lookup_minutes")
                    if has_partition and total == 100 and rows <= 2:  # folded (a minute may turn)
                        break
                else:
                    pytest.fail(
                        f"no upkeep: partition {has_partition}, {rows} rows, {total} events"
                    )
            finally:
                await conn.close()
    finally:
        await buffer.stop()
    status = buffer.status()
    assert (status.written, status.dropped, status.buffered) == (100, 0, 0)
