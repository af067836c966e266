"""The long-lived parts of a process as async context managers, for the composition root's
one `AsyncExitStack` (app/root.py): entering one starts it, leaving it stops it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Protocol, TypeVar

import asyncpg
import httpx

from api.invalidation import Invalidation
from app.periodic import Periodic, PeriodicTask, run_once
from app.suggestions import refresh_periodically
from app.webhooks import Dispatcher, measure_backlog
from app.wiring import expire_jobs_now, purge_contact_details_now, purge_uploads
from config import Settings
from context.jwks import IssuerKeys
from context.tokens import TokenVerifier
from db.analytics import create_events_pool
from db.business import delete_old_counts
from db.dispatch import delete_finished
from db.media_store import MediaStore
from db.pool import Connection, QueryLogger, create_pool, single_connection
from db.replica import Replica
from loaders.breaker import LookupBreaker
from monitoring.alerts import alert_thresholds
from monitoring.business import BusinessCounts
from monitoring.events import EventRetention, LookupEventBuffer
from monitoring.live import LiveMonitor

log = logging.getLogger(__name__)
WEBHOOK_BACKLOG_SECONDS = 15.0  # as often as Prometheus commonly scrapes
WEBHOOK_RETENTION_SECONDS = 3600.0
# Often enough that a dashboard refreshed every few seconds sees a count soon after it happened.
BUSINESS_FLUSH_SECONDS = 2.0
BUSINESS_RETENTION_DAYS = 90


class Closeable(Protocol):
    async def close(self) -> None: ...


class Startable(Closeable, Protocol):
    def start(self) -> None: ...


C = TypeVar("C", bound=Closeable | None)
S = TypeVar("S", bound=Startable)


@asynccontextmanager
async def closing(resource: C) -> AsyncIterator[C]:
    """`resource` as it is (None for a part the settings leave out), closed on the way out."""
    try:
        yield resource
    finally:
        if resource is not None:
            await resource.close()


@asynccontextmanager
async def running(service: S) -> AsyncIterator[S]:
    """`service` started on the way in, closed on the way out."""
    service.start()
    try:
        yield service
    finally:
        await service.close()


@asynccontextmanager
async def database_pool(
    url: str | None,
    settings: Settings,
    loggers: Sequence[QueryLogger],
    *,
    min_size: int | None = None,
    max_size: int | None = None,
    statement_timeout_ms: int | None = None,
) -> AsyncIterator[asyncpg.Pool | None]:
    """A pool on `url` sized by the settings (None when `url` is not set)."""
    if not url:
        yield None
        return
    async with await create_pool(
        url,
        min_size=settings.db_pool_min if min_size is None else min_size,
        max_size=settings.db_pool_max if max_size is None else max_size,
        command_timeout=settings.db_command_timeout,
        query_loggers=loggers,
        statement_timeout_ms=statement_timeout_ms,
        statement_cache_size=settings.db_statement_cache_size,
    ) as pool:
        yield pool


@asynccontextmanager
async def direct_connection(url: str | None, pool: asyncpg.Pool) -> AsyncIterator[Connection]:
    """A connection of its own on `url` (`DATABASE_LISTEN_URL`, past PgBouncer) when set, else
    one borrowed from `pool`: for what keeps session state for a while (an advisory lock)."""
    if not url:
        async with pool.acquire() as conn:
            yield conn
        return
    async with single_connection(url) as own:
        yield own


@asynccontextmanager
async def replica_watch(
    primary: asyncpg.Pool, replica_pool: asyncpg.Pool | None, settings: Settings
) -> AsyncIterator[Replica | None]:
    """The replica's health checker (None without `DATABASE_REPLICA_URL`), checked once before
    the first request so that a replica that is down or behind is never read at start."""
    if replica_pool is None:
        yield None
        return
    replica = Replica(
        primary,
        replica_pool,
        max_lag=settings.replica_max_lag_seconds,
        interval=settings.replica_check_seconds,
        probe_timeout=settings.database_probe_timeout,
    )
    await replica.check()
    async with running(replica):
        yield replica


@asynccontextmanager
async def event_writer(settings: Settings, dsn: str) -> AsyncIterator[LookupEventBuffer | None]:
    """`LOOKUP_EVENTS`: the lookup-event buffer and its writer, on a pool of their own.
    Closing it is the graceful shutdown that writes what is still buffered."""
    if not settings.lookup_events:
        yield None
        return
    events = LookupEventBuffer(
        await create_events_pool(
            dsn,
            command_timeout=settings.db_command_timeout,
            statement_cache_size=settings.db_statement_cache_size,
        ),
        capacity=settings.event_buffer_size,
        flush_interval=settings.event_flush_interval,
        batch_size=settings.event_flush_batch,
    )
    async with running(events):
        yield events


@asynccontextmanager
async def live_monitor(
    settings: Settings, dsn: str, breaker: LookupBreaker
) -> AsyncIterator[LiveMonitor]:
    """Live stats and alerts, on a connection of their own as the event writer has: live
    updates and alert evaluation never take one a request is waiting for."""
    async with await create_events_pool(
        dsn,
        command_timeout=settings.db_command_timeout,
        statement_cache_size=settings.db_statement_cache_size,
    ) as pool:
        monitor = LiveMonitor(
            pool,
            lambda: breaker.state,
            alert_thresholds(settings),
            alert_window_minutes=settings.alert_window_minutes,
            interval=settings.live_interval_seconds,
        )
        async with running(monitor):
            yield monitor


@asynccontextmanager
async def token_verifier(settings: Settings) -> AsyncIterator[TokenVerifier | None]:
    """The verifier of customers' access tokens, with its one HTTP client for the issuer's keys
    (fetched in the background from the start); None without `OIDC_ISSUER`."""
    issuer = settings.oidc_issuer
    if issuer is None:
        yield None
        return
    log.info(
        "customers: access tokens of %s accepted%s",
        issuer,
        " (the development identity provider)" if settings.oidc_development else "",
    )
    async with httpx.AsyncClient(
        timeout=settings.oidc_fetch_timeout_seconds, follow_redirects=False
    ) as client:
        keys = IssuerKeys(
            client,
            issuer=issuer,
            jwks_url=settings.oidc_jwks_url,
            timeout=settings.oidc_fetch_timeout_seconds,
            max_bytes=settings.oidc_jwks_max_bytes,
            min_interval=settings.oidc_jwks_min_interval_seconds,
            max_age=settings.oidc_jwks_max_age_seconds,
        )
        keys.start()
        try:
            yield TokenVerifier.from_settings(settings, keys)
        finally:
            await keys.close()


@asynccontextmanager
async def listening(invalidation: Invalidation, dsn: str, enabled: bool) -> AsyncIterator[None]:
    """The invalidation listener (`INVALIDATION_LISTENER`), stopped on the way out."""
    try:
        if enabled:
            await invalidation.start(dsn)
        yield
    finally:
        await invalidation.close()


@asynccontextmanager
async def business_counts(pool: asyncpg.Pool) -> AsyncIterator[BusinessCounts]:
    """The business view's counts: added to the database every few seconds, and once more on
    the way out; counts older than their retention deleted hourly."""
    counts = BusinessCounts()
    tasks = [
        PeriodicTask("business counts", BUSINESS_FLUSH_SECONDS, lambda: counts.flush(pool)),
        PeriodicTask(
            "business counts retention",
            3600.0,
            lambda: delete_old_counts(pool, days=BUSINESS_RETENTION_DAYS),
        ),
    ]
    async with Periodic(tasks):
        try:
            yield counts
        finally:
            await run_once(PeriodicTask("business counts", 1.0, lambda: counts.flush(pool)))


def event_upkeep(events: LookupEventBuffer, retention: EventRetention) -> PeriodicTask:
    """analytics_events' partitions, retention and rollup folding, on the writer's connection."""
    return PeriodicTask("event upkeep", retention.interval, lambda: events.upkeep(retention))


def job_upkeep(
    settings: Settings, pool: asyncpg.Pool, media_store: MediaStore
) -> list[PeriodicTask]:
    """JOB_EXPIRY_DAYS and CONTACT_RETENTION_DAYS: old jobs expire, ended jobs' personal data
    goes. Bounded batches; every worker may run them (each skips rows another holds)."""
    interval, expiry = settings.job_upkeep_interval, settings.job_expiry_days
    retention = settings.contact_retention_days
    return [
        PeriodicTask("job expiry", interval, lambda: expire_jobs_now(pool, expiry)),
        PeriodicTask(
            "contact purge",
            interval,
            lambda: purge_contact_details_now(pool, media_store, retention),
        ),
    ]


@asynccontextmanager
async def webhook_dispatcher(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[None]:
    """The webhook dispatcher (`WEBHOOK_DISPATCH`); on the way out it gives back the
    deliveries it was sending."""
    if not settings.webhook_dispatch:
        yield
        return
    dispatcher = Dispatcher(settings, pool)
    dispatcher.start()
    try:
        yield
    finally:
        await dispatcher.close()


def webhook_upkeep(settings: Settings, pool: asyncpg.Pool) -> list[PeriodicTask]:
    """The backlog measured for /metrics; finished deliveries deleted after their retention."""
    days = settings.webhook_retention_days
    return [
        PeriodicTask("webhook backlog", WEBHOOK_BACKLOG_SECONDS, lambda: measure_backlog(pool)),
        PeriodicTask(
            "webhook retention", WEBHOOK_RETENTION_SECONDS, lambda: delete_finished(pool, days=days)
        ),
    ]


def periodic_tasks(
    settings: Settings,
    pool: asyncpg.Pool,
    media_store: MediaStore,
    events: LookupEventBuffer | None,
) -> Periodic:
    """The process's periodic work, each task present when the settings turn it on."""
    tasks = []
    if settings.upload_purge:
        purge = PeriodicTask(
            "upload purge",
            settings.upload_purge_interval,
            lambda: purge_uploads(pool, media_store),
            at_start=True,
        )
        tasks.append(purge)
    if settings.job_upkeep_interval > 0:
        tasks.extend(job_upkeep(settings, pool, media_store))
    if settings.webhook_dispatch:
        tasks.extend(webhook_upkeep(settings, pool))
    if settings.suggestions_refresh_seconds > 0:
        refresh = PeriodicTask(
            "suggestions refresh",
            settings.suggestions_refresh_seconds,
            lambda: refresh_periodically(pool, settings),
        )
        tasks.append(refresh)
    if events is not None:
        retention = EventRetention(
            interval=settings.event_upkeep_interval,
            event_days=settings.event_retention_days,
            rollup_days=settings.rollup_retention_days,
        )
        tasks.append(event_upkeep(events, retention))
    return Periodic(tasks)
