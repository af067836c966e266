"""Assembly helpers the app and the CLI share: the database to use and its preparation
(migrate, seed), the process's `MicroServiceLookup` built from the settings, service search,
the upload purge, the job expiry and the contact purge."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import asyncpg

from config import Settings
from db.embedded import start_embedded_postgres
from db.errors import is_transient
from db.jobs import expire_jobs
from db.media_store import MediaStore
from db.migrate import apply_migrations
from db.personal_data import purge_contact_details
from db.pool import Connection
from db.replica import ReadRoute
from db.seed import SeedResult, seed_catalogue
from db.uploads import purge_expired_uploads
from domain.catalogue import Catalogue
from loaders.breaker import LookupBreaker
from loaders.cache import LookupCache
from loaders.lookup import LookupObserver, MicroServiceLookup
from loaders.retry import RetryPolicy
from monitoring import metrics
from search import LiveSearch, load_keywords

log = logging.getLogger(__name__)


def database_url_for(settings: Settings) -> tuple[str, Any]:
    """`DATABASE_URL`, or an embedded PostgreSQL when it is not set (with its handle)."""
    if settings.database_url:
        return settings.database_url, None
    return start_embedded_postgres(settings.embedded_pgdata)


async def prepare_database(
    conn: Connection, settings: Settings, catalogue: Catalogue
) -> SeedResult | None:
    """Migrate and seed as the settings say; the seed's result tells which slugs changed."""
    if settings.migrate_on_start:
        await apply_migrations(conn)
    if settings.seed_on_start:
        result = await seed_catalogue(conn, catalogue)
        log.info(
            "catalogue seeded: %d changed, %d deactivated",
            len(result.changed),
            len(result.deactivated),
        )
        return result
    return None


def create_breaker(settings: Settings) -> LookupBreaker:
    """The lookup's circuit breaker. Built before the lookup, so that what reports its state
    (metrics, the live monitor) can be given it first."""
    return LookupBreaker(
        fail_max=settings.breaker_fail_max,
        reset_timeout=settings.breaker_reset_seconds,
        is_failure=is_transient,
    )


def create_lookup(
    pool: asyncpg.Pool | ReadRoute,
    settings: Settings,
    observers: Sequence[LookupObserver] = (),
    *,
    cache: LookupCache | None = None,
    breaker: LookupBreaker | None = None,
) -> MicroServiceLookup:
    """The lookup pipeline the settings describe: cache -> breaker -> retry -> one query."""
    return MicroServiceLookup(
        pool,
        observers,
        cache=LookupCache.from_settings(settings) if cache is None else cache,
        breaker=create_breaker(settings) if breaker is None else breaker,
        retry=RetryPolicy(
            attempts=settings.retry_attempts, budget=settings.retry_budget_ms / 1000.0
        ),
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


def create_search(settings: Settings, catalogue: Catalogue) -> LiveSearch:
    """Service search over the catalogue this process serves, with its curated keywords. Its
    vectors are cached under the catalogue's content, so
    a changed catalogue is re-embedded at the next start and an unchanged one is read back."""
    return LiveSearch(
        catalogue,
        load_keywords(catalogue),
        semantic=settings.search_semantic,
        cache_dir=settings.search_cache_dir,
        threads=settings.search_inference_threads,
        model_budget=settings.search_model_budget_ms / 1000 or None,
        query_cache_size=settings.search_query_cache_size,
    )


async def purge_uploads(pool: asyncpg.Pool, store: MediaStore) -> None:
    """`UPLOAD_PURGE=true`, as a periodic task: delete uploads nobody attached within a day.
    Every worker may run it: the purge skips rows another holds."""
    purged = await purge_expired_uploads(pool, store)
    if purged:
        log.info("upload purge: %d unattached upload(s) deleted", purged)


async def expire_jobs_now(pool: asyncpg.Pool, days: int) -> None:
    """JOB_EXPIRY_DAYS, as a periodic task: old PUBLISHED jobs become EXPIRED. Every worker may
    run it: each batch skips rows another holds."""
    expired = await expire_jobs(pool, days=days)
    if expired:
        metrics.JOBS_ENDED.labels(status="expired").inc(expired)
        log.info("job expiry: %d job(s) expired", expired)


async def purge_contact_details_now(pool: asyncpg.Pool, store: MediaStore, days: int) -> None:
    """CONTACT_RETENTION_DAYS, as a periodic task: personal data of ended jobs purged."""
    purged = await purge_contact_details(pool, store, days=days)
    if purged:
        log.info("contact purge: personal data of %d ended job(s) purged", purged)
