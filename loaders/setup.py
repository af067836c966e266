"""Builds the process's `MicroServiceLookup` from the settings (cache, breaker, retry)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import asyncpg

from api.settings import Settings
from db.errors import is_transient
from loaders.breaker import LookupBreaker
from loaders.cache import LookupCache
from loaders.lookup import LookupObserver, MicroServiceLookup
from loaders.retry import RetryPolicy

log = logging.getLogger(__name__)


def create_lookup(
    pool: asyncpg.Pool, settings: Settings, observers: Sequence[LookupObserver] = ()
) -> MicroServiceLookup:
    cache = LookupCache.create(
        max_entries=settings.cache_max_entries,
        ttl=settings.cache_ttl_seconds,
        negative_ttl=settings.cache_negative_ttl_seconds,
        namespace=settings.cache_namespace,
        redis_url=settings.redis_url,
        redis_timeout=settings.cache_redis_timeout_ms / 1000.0,
    )
    breaker = LookupBreaker(
        fail_max=settings.breaker_fail_max,
        reset_timeout=settings.breaker_reset_seconds,
        is_failure=is_transient,
    )
    retry = RetryPolicy(attempts=settings.retry_attempts, budget=settings.retry_budget_ms / 1000.0)
    return MicroServiceLookup(
        pool,
        observers,
        cache=cache,
        breaker=breaker,
        retry=retry,
        statement_timeout=settings.lookup_statement_timeout_ms / 1000.0,
    )


async def start_lookup(
    lookup: MicroServiceLookup, *, stale: Sequence[str] = (), warm_up: bool = True
) -> None:
    """Drop the entries a start-up seed changed, then load the catalogue into the cache so the
    first requests are hits. A failed warm-up is logged: the cache fills on demand instead."""
    if stale:
        await lookup.invalidate(stale)
        log.info("lookup cache: %d re-seeded slug(s) invalidated", len(stale))
    if not warm_up:
        return
    try:
        count = await lookup.warm_up()
    except Exception as exc:  # never fatal: the server can serve without a warm cache
        log.warning(
            "lookup cache warm-up failed (%s: %s); filling on demand", type(exc).__name__, exc
        )
    else:
        log.info("lookup cache warmed with %d micro service(s)", count)


async def invalidate_shared_cache(settings: Settings, slugs: Sequence[str]) -> bool:
    """For `server.py seed`: drop `slugs` from the Redis level (a separate process cannot reach
    a server's in-process level; that expires within CACHE_TTL_SECONDS). False without Redis."""
    if not settings.redis_url or not slugs:
        return False
    cache = LookupCache.create(
        namespace=settings.cache_namespace,
        redis_url=settings.redis_url,
        redis_timeout=max(settings.cache_redis_timeout_ms / 1000.0, 1.0),
    )
    try:
        await cache.invalidate(slugs)
    finally:
        await cache.close()
    return cache.redis_errors == 0
