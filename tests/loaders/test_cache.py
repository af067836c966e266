"""The lookup cache: bounded LRU level, TTLs, negative caching, the Redis level."""

from __future__ import annotations

import asyncio
import socket

from loaders.cache import NOT_FOUND, LookupCache, MemoryLevel
from loaders.redis_guard import REDIS_RETRY_AFTER, SharedRedis
from tests.support import REDIS_URL, test_settings
from tests.support.proxy import proxy_to
from tests.support.resilience import SLUGS, cache_for, lookup_rig


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_lru_evicts_the_least_recently_used_key_at_the_bound() -> None:
    cache = MemoryLevel(max_entries=3)
    cache.set_many([("a", 1), ("b", 2), ("c", 3)], ttl=60)
    assert cache.peek_many(["a"]) == [1]  # "a" is now the most recently used
    cache.set_many([("d", 4)], ttl=60)
    assert cache.peek_many(["a", "b", "c", "d"]) == [1, None, 3, 4]
    assert cache.evictions == 1
    assert len(cache) == 3


async def test_memory_stays_flat_however_many_distinct_keys_are_asked_for() -> None:
    cache = MemoryLevel(max_entries=1000)
    for start in range(0, 50_000, 500):
        cache.set_many([(f"slug-{i}", NOT_FOUND) for i in range(start, start + 500)], ttl=60)
    assert len(cache) == 1000
    assert cache.evictions == 49_000


async def test_entries_expire_after_their_ttl() -> None:
    clock = FakeClock()
    cache = MemoryLevel(max_entries=10, clock=clock)
    cache.set_many([("short", "x")], ttl=1.0)
    cache.set_many([("long", "y")], ttl=100.0)
    clock.now += 1.5
    assert cache.peek_many(["short", "long"]) == [None, "y"]
    assert len(cache) == 1  # the expired key was dropped when read


async def test_peek_answers_as_peek_many_does_for_one_key() -> None:
    clock = FakeClock()
    cache = MemoryLevel(max_entries=2, clock=clock)
    cache.set_many([("short", "x"), ("long", "y")], ttl=1.0)
    cache.set_many([("long", "y")], ttl=100.0)
    assert (cache.peek("short"), cache.peek("long"), cache.peek("absent")) == ("x", "y", None)
    cache.set_many([("new", "z")], ttl=100.0)  # "short" is the least recently used: evicted
    assert cache.peek("short") is None
    clock.now += 50
    assert cache.peek("long") == "y"
    clock.now += 51
    assert cache.peek("long") is None
    assert len(cache) == 1  # the expired key was dropped when read


async def test_lookup_caches_rows_and_serves_them_without_sql(database_url: str) -> None:
    async with lookup_rig(database_url) as rig:
        first = await rig.lookup.resolve(SLUGS)
        again = await rig.lookup.resolve(SLUGS)
        assert again == first
        assert len(rig.statements.lookups) == 1
        assert [e.cache_hit for e in rig.events.events] == [False] * 4 + [True] * 4


def clocked_cache(clock: FakeClock, *, ttl: float, negative_ttl: float) -> LookupCache:
    """A memory-only lookup cache whose entries expire by `clock`, not by the wall clock."""
    return LookupCache(
        MemoryLevel(max_entries=100, clock=clock),
        negative=MemoryLevel(max_entries=100, clock=clock),
        namespace="clocked",
        ttl=ttl,
        negative_ttl=negative_ttl,
    )


async def test_unknown_slugs_are_cached_negatively_for_the_short_ttl(database_url: str) -> None:
    clock = FakeClock()
    cache = clocked_cache(clock, ttl=300.0, negative_ttl=5.0)
    async with lookup_rig(database_url, cache=cache) as rig:
        for _ in range(5):
            assert await rig.lookup.resolve(["no-such-service"]) == [None]
            clock.now += 0.9  # five reads spread over the short TTL, all inside it
        assert len(rig.statements.lookups) == 1
        clock.now += 1.0
        assert await rig.lookup.resolve(["no-such-service"]) == [None]
        assert len(rig.statements.lookups) == 2


async def test_lru_bound_applies_to_the_lookup(database_url: str) -> None:
    cache = cache_for(cache_max_entries=2)
    async with lookup_rig(database_url, cache=cache) as rig:
        for slug in SLUGS[:3]:
            await rig.lookup.resolve([slug])
        assert len(cache.local) == 2
        await rig.lookup.resolve([SLUGS[2]])  # still cached
        assert len(rig.statements.lookups) == 3
        await rig.lookup.resolve([SLUGS[0]])  # evicted: back to the database
        assert len(rig.statements.lookups) == 4


async def test_cached_rows_expire_after_the_ttl(database_url: str) -> None:
    clock = FakeClock()
    cache = clocked_cache(clock, ttl=300.0, negative_ttl=5.0)
    async with lookup_rig(database_url, cache=cache) as rig:
        await rig.lookup.resolve([SLUGS[0]])
        clock.now += 299.0
        await rig.lookup.resolve([SLUGS[0]])
        assert len(rig.statements.lookups) == 1
        clock.now += 1.5
        await rig.lookup.resolve([SLUGS[0]])
        assert len(rig.statements.lookups) == 2


async def test_a_row_loaded_by_one_process_is_a_hit_for_another(
    database_url: str, redis_namespace: str
) -> None:
    first = cache_for(cache_namespace=redis_namespace, redis_url=REDIS_URL)
    second = cache_for(cache_namespace=redis_namespace, redis_url=REDIS_URL)
    async with (
        lookup_rig(database_url, cache=first) as one,
        lookup_rig(database_url, cache=second) as other,
    ):
        loaded = await one.lookup.resolve([*SLUGS, "no-such-service"])
        assert len(one.statements.lookups) == 1
        assert await other.lookup.resolve([*SLUGS, "no-such-service"]) == loaded
        assert other.statements.lookups == []
        assert all(e.cache_hit for e in other.events.events)
        # ...and the other process's local level now holds them too.
        assert (len(second.local), len(second.negative)) == (4, 1)


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again: nothing listens there


async def test_redis_that_is_not_there_never_fails_a_lookup(database_url: str) -> None:
    cache = cache_for(redis_url=f"redis://127.0.0.1:{_dead_port()}/0")
    async with lookup_rig(database_url, cache=cache) as rig:
        assert [r.slug for r in await rig.lookup.resolve(SLUGS) if r] == list(SLUGS)
        assert [r.slug for r in await rig.lookup.resolve(SLUGS) if r] == list(SLUGS)
        assert len(rig.statements.lookups) == 1  # the in-process level carried on
        assert cache.redis_errors >= 1
        assert await cache.redis_reachable() is False


async def test_redis_stopped_mid_run_does_not_fail_lookups(
    database_url: str, redis_namespace: str
) -> None:
    clock = FakeClock()
    async with proxy_to(REDIS_URL) as redis_proxy:
        settings = test_settings(cache_namespace=redis_namespace)
        redis = SharedRedis.from_url(
            redis_proxy.url_for(REDIS_URL), settings.cache_redis_timeout_ms / 1000.0, clock=clock
        )
        cache = LookupCache.from_settings(settings, redis=redis)
        async with lookup_rig(database_url, cache=cache) as rig:
            await rig.lookup.resolve(SLUGS[:2])
            assert await cache.redis_reachable() is True
            await redis_proxy.refuse()  # "Redis stops": the shared server itself is untouched
            assert [r.slug for r in await rig.lookup.resolve(SLUGS) if r] == list(SLUGS)
            assert await cache.redis_reachable() is False
            await redis_proxy.restore()
            redis_proxy.mode = "stall"  # now a Redis that hangs: bounded by its timeout
            cache.local.clear()
            clock.now += REDIS_RETRY_AFTER  # Redis is tried again
            errors, lookups = cache.redis_errors, len(rig.statements.lookups)
            # The guard only turns a hang into a failure; the proof is the counts below.
            async with asyncio.timeout(10):
                answers = await rig.lookup.resolve(SLUGS)
            assert [r.slug for r in answers if r] == list(SLUGS)
            assert cache.redis_errors > errors  # Redis's timeout fired...
            assert len(rig.statements.lookups) == lookups + 1  # ...and PostgreSQL answered
        await redis.close()


async def test_invalidate_drops_both_levels(database_url: str, redis_namespace: str) -> None:
    cache = cache_for(cache_namespace=redis_namespace, redis_url=REDIS_URL)
    async with lookup_rig(database_url, cache=cache) as rig:
        await rig.lookup.resolve([SLUGS[0]])
        await rig.lookup.invalidate([SLUGS[0]])
        assert len(cache.local) == 0
        reader = cache_for(cache_namespace=redis_namespace, redis_url=REDIS_URL)
        try:
            assert await reader.get_many([SLUGS[0]]) == [None]
        finally:
            await reader.close()


async def test_a_slug_past_the_length_cap_is_a_miss_never_cached_queried_or_logged(
    database_url: str,
) -> None:
    junk = "x" * 95_000
    async with lookup_rig(database_url) as rig:
        assert await rig.lookup.resolve([junk]) == [None]
        assert rig.statements.lookups == []
        found, missing = await rig.lookup.resolve(["wall-painting", junk])
        assert found is not None
        assert missing is None
        assert len(rig.statements.lookups) == 1
        assert [event.slug for event in rig.events.events] == ["wall-painting"]
        assert rig.lookup.cache.local.bytes < 10_000
        assert len(rig.lookup.cache.negative) == 0


async def test_the_in_process_level_is_bounded_in_bytes() -> None:
    cache = MemoryLevel(max_entries=1_000_000, max_bytes=200_000)
    for i in range(1000):
        cache.set_many([(f"{i}-" + "y" * 10_000, NOT_FOUND)], ttl=60)
    assert cache.bytes <= 200_000
    assert len(cache) < 20
    cache.set_many([("z" * 300_000, NOT_FOUND)], ttl=60)  # larger than the level: not kept
    assert cache.peek_many(["z" * 300_000]) == [None]


async def test_unknown_slugs_never_evict_the_warmed_catalogue(database_url: str) -> None:
    cache = cache_for(cache_max_entries=1000, cache_negative_max_entries=10)
    async with lookup_rig(database_url, cache=cache) as rig:
        warmed = await rig.lookup.warm_up()
        for start in range(0, 2000, 100):
            await rig.lookup.resolve([f"junk-{i}" for i in range(start, start + 100)])
        before = len(rig.statements.lookups)
        assert len(cache.local) == warmed
        await rig.lookup.resolve(list(SLUGS))
        assert len(rig.statements.lookups) == before  # all still cached
        assert len(cache.negative) == 10
