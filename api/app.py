"""The ASGI app: routes, middleware, and the lifespan that builds what requests share."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from api.cors import cors_middleware
from api.health import health
from api.invalidation import Invalidation
from api.metrics import metrics
from api.persisted_queries import PersistedQueries
from api.plans import Plans
from api.rate_limits import RateLimits
from api.request_id import RequestIdMiddleware
from api.response_cache import ResponseCache
from api.state import HttpState
from api.suggestions import SuggestionRefresher
from api.uploads import UploadService, media, upload
from api.view import GraphQLView
from api.web import web_routes
from api.wiring import (
    create_lookup,
    create_search,
    database_url_for,
    prepare_database,
    purge_uploads_periodically,
    start_lookup,
)
from config import Settings
from context.key_cache import KeyCache
from context.state import AppState
from db.analytics import create_events_pool
from db.media_store import PostgresMediaStore
from db.pool import QueryLogger, create_pool
from db.uploads import UrlSigningSecret
from domain.catalogue import load_catalogue
from loaders.cache import LookupCache
from loaders.lookup import LookupObserver
from loaders.redis_guard import SharedRedis
from monitoring import metrics as prometheus_metrics
from monitoring.alerts import alert_thresholds
from monitoring.events import EventRetention, LookupEventBuffer
from monitoring.live import LiveMonitor
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

    async def open_pool(url: str) -> asyncpg.Pool:
        return await create_pool(
            url,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            command_timeout=settings.db_command_timeout,
            query_loggers=loggers,
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        pool = await open_pool(database_url)
        events: LookupEventBuffer | None = None
        read_pool: asyncpg.Pool | None = None
        purge: asyncio.Task[None] | None = None
        # The monitoring fields scan analytics_events: on a pool of their own, few connections
        # and a statement timeout, however hard they are asked for, they cannot take the
        # connections lookups and publishJob need. It connects on first use.
        ops_pool = await create_pool(
            database_url,
            min_size=0,
            max_size=settings.monitoring_pool_max,
            command_timeout=settings.db_command_timeout,
            query_loggers=loggers,
            statement_timeout_ms=settings.monitoring_statement_timeout_ms,
        )
        try:
            async with pool.acquire() as conn:
                seeded = await prepare_database(conn, settings, catalogue)
            media_store = PostgresMediaStore(pool)
            media_url_secret = UrlSigningSecret(pool)
            if settings.upload_purge:
                purge = asyncio.create_task(
                    purge_uploads_periodically(pool, media_store, settings.upload_purge_interval)
                )
            if settings.database_read_url:
                # Catalogue lookups go to the replica; jobs (and migrations) stay on the primary.
                read_pool = await open_pool(settings.database_read_url)
            observers: list[LookupObserver] = [
                # Reads the breaker of `lookup`, bound below, after each batch.
                prometheus_metrics.LookupMetrics(lambda: lookup.breaker_state)
            ]
            if settings.lookup_events:
                events = LookupEventBuffer(
                    await create_events_pool(
                        database_url, command_timeout=settings.db_command_timeout
                    ),
                    capacity=settings.event_buffer_size,
                    flush_interval=settings.event_flush_interval,
                    batch_size=settings.event_flush_batch,
                    retention=EventRetention(
                        interval=settings.event_upkeep_interval,
                        event_days=settings.event_retention_days,
                        rollup_days=settings.rollup_retention_days,
                    ),
                )
                events.start()
                observers.append(events)
            # One Redis client (and one guard) for every part that keeps something there.
            redis = SharedRedis.from_settings(settings)
            lookup = create_lookup(
                pool if read_pool is None else read_pool,
                settings,
                observers,
                cache=LookupCache.from_settings(settings, redis=redis),
            )
            persisted_queries = PersistedQueries.from_settings(settings, redis)
            plans = Plans(
                lookups=settings.compiled_lookups,
                publish=settings.compiled_publish,
                search=settings.compiled_search,
            )
            response_cache = ResponseCache.from_settings(
                settings, schema._schema, fingerprint, redis
            )
            keys = KeyCache(
                ttl=settings.api_key_cache_ttl_seconds,
                negative_ttl=settings.api_key_negative_ttl_seconds,
                max_entries=settings.api_key_cache_max_entries,
            )
            invalidation = Invalidation(
                response_cache=response_cache, lookup=lookup, plans=plans, keys=keys
            )
            search = create_search(settings, catalogue)
            refresher = SuggestionRefresher(pool, settings)
            live: LiveMonitor | None = None
            live_pool: asyncpg.Pool | None = None
            rate_limits = RateLimits(settings, redis=redis) if settings.rate_limits else None
            try:
                if settings.invalidation_listener:
                    # Before the warm-up: a change committed during it is heard, not missed.
                    await invalidation.start(database_url)
                search.start()
                refresher.start()
                # A connection of its own, as the event writer has: live updates and alert
                # evaluation never take one a request is waiting for.
                live_pool = await create_events_pool(
                    database_url, command_timeout=settings.db_command_timeout
                )
                live = LiveMonitor(
                    live_pool,
                    lambda: lookup.breaker_state,
                    alert_thresholds(settings),
                    alert_window_minutes=settings.alert_window_minutes,
                    interval=settings.live_interval_seconds,
                )
                live.start()
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
                        keys=keys,
                        search=search,
                        media_store=media_store,
                        media_url_secret=media_url_secret,
                        live=live,
                        ops_pool=ops_pool,
                    ),
                    "http_state": HttpState(
                        settings=settings,
                        persisted_queries=persisted_queries,
                        plans=plans,
                        response_cache=response_cache,
                        uploads=UploadService.from_settings(
                            settings, media_store, media_url_secret
                        ),
                        rate_limits=rate_limits,
                    ),
                    "invalidation": invalidation,
                }
            finally:
                await invalidation.close()
                if response_cache is not None:
                    await response_cache.close()
                if rate_limits is not None:
                    await rate_limits.close()
                await refresher.close()
                await search.close()
                if live is not None:
                    await live.close()
                if live_pool is not None:
                    await live_pool.close()
                await persisted_queries.close()
                await lookup.close()
                if redis is not None:
                    await redis.close()
        finally:
            if purge is not None:
                purge.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await purge
            if events is not None:
                await events.close()  # graceful shutdown writes what is still buffered
            if read_pool is not None:
                await read_pool.close()
            await ops_pool.close()
            await pool.close()
            prometheus_metrics.mark_process_dead(os.getpid())

    view = GraphQLView(
        schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        allowed_origins=settings.cors_origins,
    )
    return Starlette(
        routes=[
            # Every method reaches the view, so that PUT and friends get a GraphQL-shaped 405
            # with its code rather than Starlette's plain-text one.
            Route("/graphql", view),
            # Subscriptions (graphql-transport-ws); the view checks the Origin against
            # CORS_ORIGINS before accepting.
            WebSocketRoute("/graphql", view),
            Route("/health", health, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/uploads", upload, methods=["POST"]),
            Route("/media/{id}", media, methods=["GET"]),
            Route("/media/{id}/thumb", media, methods=["GET"]),
            *web_routes(),
        ],
        lifespan=lifespan,
        middleware=[Middleware(RequestIdMiddleware), *cors_middleware(settings)],
    )


def app_factory() -> Starlette:
    """The app from the environment, for uvicorn's worker processes (`WORKERS` > 1) and for
    `uvicorn server:app_factory --factory`."""
    settings = Settings.from_env()
    database_url, _embedded = database_url_for(settings)
    return create_app(settings, database_url=database_url)
