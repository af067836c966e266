import asyncio
import json
import math
import time
from uuid import uuid4

import asyncpg
import pytest

from domain.catalogue import Catalogue
from loaders.lookup import LookupEvent
from monitoring.events import LookupEventBuffer, event_properties
from tests.outage import database_outage
from tests.support import AppHarness, running_app

# The writer's COPY (or asyncpg's column probe before it) queued behind the table lock.
WRITER_WAITING_ON_LOCK = """
SELECT count(*) > 0 FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid()
   AND query LIKE '%analytics_events%' AND wait_event_type = 'Lock'
"""
LOOKUP_20 = "query Lookup($slugs: [String!]) { microServices(slugs: $slugs) { id } }"


def event(slug: str, ms: float = 1.0) -> LookupEvent:
    return LookupEvent(
        slug=slug,
        uuid=uuid4(),
        lookup_time_ms=ms,
        cache_hit=False,
        success=True,
        fallback_used=False,
        error_kind=None,
    )


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
        buffer.on_lookups([event(f"s{i}") for i in range(30)])
        deadline = time.monotonic() + 5
        while (await stored(migrated_url))[0] < 30:
            assert time.monotonic() < deadline, "the 30 events were not written within 5 s"
            await asyncio.sleep(0.05)
    finally:
        await buffer.stop()
    assert buffer.status().buffered == 0
    assert buffer.status().written == 30


async def test_shutdown_flushes_what_is_buffered(
    events_pool: asyncpg.Pool, migrated_url: str
) -> None:
    buffer = LookupEventBuffer(events_pool, flush_interval=60.0, batch_size=500)
    buffer.start()
    buffer.on_lookups([event(f"s{i}") for i in range(37)])
    await asyncio.sleep(0.1)
    assert (await stored(migrated_url))[0] == 0  # neither 500 events nor a minute yet
    await buffer.stop()
    count, writes, slugs = await stored(migrated_url)
    assert (count, writes) == (37, 1)
    assert slugs == [f"s{i}" for i in range(37)]


async def test_an_outage_drops_the_oldest_events_counts_them_and_keeps_memory_bounded(
    events_pool: asyncpg.Pool, migrated_url: str, server_url: str
) -> None:
    capacity = 100
    buffer = LookupEventBuffer(events_pool, capacity=capacity, flush_interval=0.1, batch_size=50)
    buffer.start()
    try:
        async with database_outage(server_url, migrated_url):
            for start in range(0, 1000, 20):
                buffer.on_lookups([event(f"s{i:04}") for i in range(start, start + 20)])
                assert buffer.status().buffered <= capacity
                await asyncio.sleep(0.01)  # let the writer try, and fail
            status = buffer.status()
            assert status.buffered == capacity
            assert status.dropped == 1000 - capacity
            assert status.written == 0
            assert status.write_errors >= 1
        # The database is back: the writer catches up on its own, newest events kept.
        deadline = time.monotonic() + 10
        while buffer.status().buffered:
            assert time.monotonic() < deadline, "the writer did not recover within 10 s"
            await asyncio.sleep(0.05)
    finally:
        await buffer.stop()
    count, _, slugs = await stored(migrated_url)
    assert count == capacity
    assert slugs == [f"s{i:04}" for i in range(1000 - capacity, 1000)]


async def test_a_request_never_waits_on_the_event_write(
    empty_database_url: str, catalogue: Catalogue
) -> None:
    slugs = sorted(catalogue.by_slug)[:20]

    async def lookups(api: AppHarness, count: int) -> None:
        for _ in range(count):
            body = await api.graphql(LOOKUP_20, {"slugs": slugs})
            assert len(body["data"]["microServices"]) == 20

    async with running_app(empty_database_url, event_flush_interval=0.05) as api:
        blocker = await asyncpg.connect(empty_database_url)
        watcher = await asyncpg.connect(empty_database_url)
        try:
            # Every COPY into analytics_events now blocks until this transaction ends.
            tx = blocker.transaction()
            await tx.start()
            await blocker.execute("LOCK TABLE analytics_events IN ACCESS EXCLUSIVE MODE")
            await asyncio.wait_for(lookups(api, 5), 10)
            deadline = time.monotonic() + 5
            # Polled from another session: pg_stat_activity is a snapshot per transaction.
            while not await watcher.fetchval(WRITER_WAITING_ON_LOCK):
                assert time.monotonic() < deadline, "the writer never reached its COPY"
                await asyncio.sleep(0.05)
            # The writer is stuck on the lock; requests still answer (a request that awaited
            # the write would hang here and time out).
            await asyncio.wait_for(lookups(api, 35), 10)
            await tx.rollback()
        finally:
            await blocker.close()
            await watcher.close()
    count, _, _ = await stored(empty_database_url)
    assert count == 800


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


@pytest.mark.parametrize("slug", ["wall-painting", 'quo"te\\back', "tab\tnew\nline", "çà-été-🎨"])
def test_event_properties_are_the_json_of_the_event(slug: str) -> None:
    uuid = uuid4()
    failed = LookupEvent(slug, None, 12.5, False, False, True, 'Timeout"Error')
    ok = LookupEvent(slug, uuid, 0.25, True, True, False, None)
    assert json.loads(event_properties(failed)) == {
        "slug": slug,
        "uuid": None,
        "lookup_time_ms": 12.5,
        "cache_hit": False,
        "success": False,
        "fallback_used": True,
        "error_kind": 'Timeout"Error',
    }
    assert json.loads(event_properties(ok))["uuid"] == str(uuid)
    assert json.loads(event_properties(ok))["cache_hit"] is True


async def test_awkward_strings_survive_the_copy_into_postgresql(empty_database_url: str) -> None:
    from db.analytics import create_events_pool
    from db.migrate import apply_migrations

    conn = await asyncpg.connect(empty_database_url)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()
    slugs = ["wall-painting", 'quo"te\\back', "tab\tnew\nline", "çà-été-🎨", "back\\\\slash\\n"]
    buffer = LookupEventBuffer(await create_events_pool(empty_database_url))
    buffer.on_lookups([LookupEvent(s, None, 1.5, False, False, True, 'Bad\\"Kind') for s in slugs])
    assert await buffer.flush() == len(slugs)
    await buffer.close()
    conn = await asyncpg.connect(empty_database_url)
    try:
        rows = await conn.fetch(
            "SELECT event_properties->>'slug' AS slug, event_properties->>'error_kind' AS kind,"
            " created_at FROM analytics_events ORDER BY id"
        )
    finally:
        await conn.close()
    assert [r["slug"] for r in rows] == slugs
    assert {r["kind"] for r in rows} == {'Bad\\"Kind'}
    assert all(abs(r["created_at"].timestamp() - time.time()) < 60 for r in rows)
