"""The composition root: the app a process serves, and the lifespan that builds, starts and
stops what its requests share.

Every long-lived part is entered, in start order, into one `AsyncExitStack`; leaving the stack
stops them in reverse order. Adding a part is one line in `lifespan` below.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

from starlette.applications import Starlette

from api.app import http_app
from api.invalidation import Invalidation
from api.persisted_queries import PersistedQueries
from api.plans import Plans
from api.rate_limits import RateLimits
from api.response_cache import ResponseCache
from api.state import HttpState
from api.upload_body import MemoryBudget
from api.uploads import UploadService
from app.components import (
    business_counts,
    closing,
    database_pool,
    direct_connection,
    event_writer,
    listening,
    live_monitor,
    periodic_tasks,
    replica_watch,
    running,
    token_verifier,
    webhook_dispatcher,
)
from app.wiring import (
    create_breaker,
    create_lookup,
    create_search,
    database_url_for,
    prepare_database,
    start_lookup,
)
from config import Settings
from context.key_cache import KeyCache
from context.state import AppState
from db.media_store import PostgresMediaStore
from db.pool import QueryLogger
from db.replica import ReadRoute
from db.url_signing import UrlSigningSecret
from domain.catalogue import load_catalogue
from loaders.cache import LookupCache
from loaders.lookup import LookupObserver
from loaders.redis_guard import SharedRedis
from media.images import return_large_blocks_to_the_system, reuse_image_blocks
from monitoring import metrics as prometheus_metrics
from schema import schema

# Allocations between two young-generation collections. CPython's default makes the collector
# run every few requests, and each older-generation pass walks every object the schema, the
# catalogue and the libraries created at start: that was the whole p99 tail of a cached lookup.
GC_GEN0_THRESHOLD = 50_000


def tune_garbage_collector() -> None:
    """Move everything alive after start-up out of the collector's sight (it lives for the
    process anyway) and collect the young generation less often. Cycles are still collected,
    so memory stays bounded; only the pauses get shorter and rarer."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


def create_app(
    settings: Settings, *, database_url: str, query_loggers: Sequence[QueryLogger] = ()
) -> Starlette:
    catalogue = load_catalogue(settings.catalogue_path)
    # The questions come from this file, not from the database: cached answers of processes
    # serving different files must not mix, so the file is part of every response-cache key.
    fingerprint = hashlib.sha256(settings.catalogue_path.read_bytes()).hexdigest()[:16]
    loggers: list[QueryLogger] = [*query_loggers, prometheus_metrics.QueryMetrics()]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        # Process-wide, in every worker: decoded photos must not stay resident after use.
        return_large_blocks_to_the_system()
        reuse_image_blocks(settings.upload_processing)
        async with contextlib.AsyncExitStack() as stack:
            run = stack.enter_async_context
            stack.callback(prometheus_metrics.mark_process_dead, os.getpid())
            pool = await run(database_pool(database_url, settings, loggers))
            assert pool is not None  # database_url is always set
            # The monitoring fields scan analytics_events: on a pool of their own, few
            # connections and a statement timeout, however hard they are asked for, they cannot
            # take the connections lookups and publishJob need. It connects on first use.
            ops_pool = await run(
                database_pool(
                    database_url,
                    settings,
                    loggers,
                    min_size=0,
                    max_size=settings.monitoring_pool_max,
                    statement_timeout_ms=settings.monitoring_statement_timeout_ms,
                )
            )
            # Catalogue, search, suggestions and monitoring reads go to the replica while it is
            # usable; jobs, keys and migrations stay on the primary. Its pools connect on first
            # use: a replica that is down at start delays nothing.
            read_pool = await run(
                database_pool(settings.replica_url, settings, loggers, min_size=0)
            )
            ops_read_pool = await run(
                database_pool(
                    settings.replica_url,
                    settings,
                    loggers,
                    min_size=0,
                    max_size=settings.monitoring_pool_max,
                    statement_timeout_ms=settings.monitoring_statement_timeout_ms,
                )
            )
            replica = await run(replica_watch(pool, read_pool, settings))
            reads = ReadRoute(pool, read_pool, replica)
            ops_reads = ReadRoute(ops_pool or pool, ops_read_pool, replica)
            # The migrations' advisory lock is session state: on the direct connection when
            # the pool goes through PgBouncer.
            async with direct_connection(settings.database_listen_url, pool) as conn:
                seeded = await prepare_database(conn, settings, catalogue)
            media_store = PostgresMediaStore(pool)
            media_url_secret = UrlSigningSecret(pool)
            breaker = create_breaker(settings)
            events = await run(event_writer(settings, database_url))
            observers: list[LookupObserver] = [
                prometheus_metrics.LookupMetrics(lambda: breaker.state),
                *([events] if events is not None else []),
            ]
            # One Redis client (and one guard) for every part that keeps something there; entered
            # before them, so it closes after the last of them.
            redis = await run(closing(SharedRedis.from_settings(settings)))
            lookup = await run(
                closing(
                    create_lookup(
                        reads,
                        settings,
                        observers,
                        breaker=breaker,
                        cache=LookupCache.from_settings(settings, redis=redis),
                    )
                )
            )
            persisted_queries = await run(closing(PersistedQueries.from_settings(settings, redis)))
            # Strawberry has no public accessor for its graphql-core schema; it reads `_schema`.
            graphql_schema = schema._schema
            response_cache = await run(
                closing(ResponseCache.from_settings(settings, graphql_schema, fingerprint, redis))
            )
            rate_limits = await run(
                closing(RateLimits(settings, redis=redis) if settings.rate_limits else None)
            )
            keys = KeyCache(
                ttl=settings.api_key_cache_ttl_seconds,
                negative_ttl=settings.api_key_negative_ttl_seconds,
                max_entries=settings.api_key_cache_max_entries,
            )
            plans = Plans(
                lookups=settings.compiled_lookups,
                publish=settings.compiled_publish,
                search=settings.compiled_search,
            )
            invalidation = Invalidation(
                response_cache=response_cache,
                lookup=lookup,
                plans=plans,
                keys=keys,
                replica=replica,
            )
            # Before the warm-up: a change committed during it is heard, not missed.
            await run(
                listening(
                    invalidation,
                    settings.database_listen_url or database_url,
                    settings.invalidation_listener,
                )
            )
            tokens = await run(token_verifier(settings))
            search = await run(running(create_search(settings, catalogue)))
            live = await run(live_monitor(settings, database_url, breaker))
            await run(periodic_tasks(settings, pool, media_store, events))
            await run(webhook_dispatcher(settings, pool))
            business = await run(business_counts(pool))
            await start_lookup(
                lookup,
                stale=seeded.touched if seeded is not None else (),
                warm_up=settings.cache_warm_up,
            )
            tune_garbage_collector()
            yield {
                "app_state": AppState(
                    settings=settings,
                    pool=pool,
                    catalogue=catalogue,
                    lookup=lookup,
                    events=events,
                    read_pool=read_pool,
                    reads=reads,
                    keys=keys,
                    search=search,
                    media_store=media_store,
                    media_url_secret=media_url_secret,
                    live=live,
                    ops_pool=ops_pool,
                    tokens=tokens,
                    ops_reads=ops_reads,
                    business=business,
                ),
                "http_state": HttpState(
                    settings=settings,
                    persisted_queries=persisted_queries,
                    plans=plans,
                    response_cache=response_cache,
                    uploads=UploadService.from_settings(settings, media_store, media_url_secret),
                    rate_limits=rate_limits,
                    upload_memory=MemoryBudget(settings.upload_memory_bytes),
                ),
                "invalidation": invalidation,
            }

    return http_app(settings, lifespan)


def app_factory() -> Starlette:
    """The app from the environment, for uvicorn's worker processes (`WORKERS` > 1) and for
    `uvicorn server:app_factory --factory`."""
    settings = Settings.from_env()
    database_url, _embedded = database_url_for(settings)
    return create_app(settings, database_url=database_url)
