"""Entry point and wiring: settings -> app (lifespan: pool, catalogue, lookup) -> uvicorn.

python server.py            serve (migrates and seeds first unless told not to)
python server.py migrate    apply pending migrations and exit
python server.py seed       write db/catalogue.json into the database and exit
python server.py create-api-key --name NAME [--scope jobs:write ...]   the key is the last line
python server.py revoke-api-key --id KEY_ID | list-api-keys
python server.py purge-idempotency-keys [--older-than-hours 24]
python server.py export-schema [--output schema.graphql]
python server.py backfill   fill jobs.micro_uuid of slug-only jobs, in batches, with progress
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route

from api import commands
from api.cors import cors_middleware
from api.health import health
from api.lookup_plans import LookupPlans
from api.metrics import metrics
from api.persisted_queries import PersistedQueries
from api.runtime import tune_garbage_collector
from api.services import Services
from api.settings import ConfigError, Settings
from api.view import GraphQLView
from api.web import web_routes
from db.analytics import create_events_pool
from db.embedded import start_embedded_postgres
from db.migrate import apply_migrations
from db.pool import Connection, QueryLogger, create_pool
from db.seed import SeedResult, seed_catalogue
from domain.catalogue import Catalogue, load_catalogue
from domain.errors import CatalogueError
from loaders.lookup import LookupObserver
from loaders.setup import create_lookup, invalidate_shared_cache, start_lookup
from monitoring import metrics as prometheus_metrics
from monitoring.events import LookupEventBuffer
from ops.backfill import run_backfill_command
from schema import schema

log = logging.getLogger("jobwizard")


async def prepare_database(
    conn: Connection, settings: Settings, catalogue: Catalogue
) -> SeedResult | None:
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


def create_app(
    settings: Settings, *, database_url: str, query_loggers: Sequence[QueryLogger] = ()
) -> Starlette:
    catalogue = load_catalogue(settings.catalogue_path)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        pool = await create_pool(
            database_url,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            command_timeout=settings.db_command_timeout,
            query_loggers=[*query_loggers, prometheus_metrics.QueryMetrics()],
        )
        events: LookupEventBuffer | None = None
        read_pool: asyncpg.Pool | None = None
        try:
            async with pool.acquire() as conn:
                seeded = await prepare_database(conn, settings, catalogue)
            if settings.database_read_url:
                # Catalogue lookups go to the replica; jobs (and migrations) stay on the primary.
                read_pool = await create_pool(
                    settings.database_read_url,
                    min_size=settings.db_pool_min,
                    max_size=settings.db_pool_max,
                    command_timeout=settings.db_command_timeout,
                    query_loggers=[*query_loggers, prometheus_metrics.QueryMetrics()],
                )
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
                )
                events.start()
                observers.append(events)
            lookup = create_lookup(pool if read_pool is None else read_pool, settings, observers)
            persisted_queries = PersistedQueries.from_settings(settings)
            try:
                await start_lookup(
                    lookup,
                    stale=seeded.touched if seeded is not None else (),
                    warm_up=settings.cache_warm_up,
                )
                tune_garbage_collector()
                services = Services(
                    settings=settings,
                    pool=pool,
                    catalogue=catalogue,
                    lookup=lookup,
                    persisted_queries=persisted_queries,
                    events=events,
                    read_pool=read_pool,
                    lookup_plans=LookupPlans(enabled=settings.compiled_lookups),
                )
                yield {"services": services}
            finally:
                await persisted_queries.close()
                await lookup.close()
        finally:
            if events is not None:
                await events.close()  # graceful shutdown writes what is still buffered
            if read_pool is not None:
                await read_pool.close()
            await pool.close()
            prometheus_metrics.mark_process_dead(os.getpid())

    view = GraphQLView(schema, graphql_ide="graphiql" if settings.graphiql else None)
    return Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *web_routes(),
        ],
        lifespan=lifespan,
        middleware=cors_middleware(settings),
    )


def app_factory() -> Starlette:
    """The app from the environment, for uvicorn's worker processes (`WORKERS` > 1) and for
    `uvicorn server:app_factory --factory`."""
    settings = Settings.from_env()
    database_url, _embedded = database_url_for(settings)
    return create_app(settings, database_url=database_url)


async def _prepare(database_url: str, settings: Settings) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        seeded = await prepare_database(conn, settings, load_catalogue(settings.catalogue_path))
    finally:
        await conn.close()
    # The workers' in-process caches start empty; only the shared level can be stale.
    if seeded is not None and seeded.touched and settings.redis_url:
        await invalidate_shared_cache(settings, seeded.touched)


def serve(settings: Settings, database_url: str) -> None:
    # uvloop and httptools are what uvicorn's "auto" picks when installed (uvicorn[standard]).
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level.lower(),
    }
    log.info(
        "serving GraphQL on http://%s:%d/graphql (%d worker%s)",
        settings.host,
        settings.port,
        settings.workers,
        "" if settings.workers == 1 else "s",
    )
    if settings.workers == 1:
        uvicorn.run(create_app(settings, database_url=database_url), **options)
        return
    # Worker processes import the app by name and build it from the environment: migrate and
    # seed once here, then hand them the database and tell them not to do it again.
    asyncio.run(_prepare(database_url, settings))
    os.environ.update(DATABASE_URL=database_url, MIGRATE_ON_START="false", SEED_ON_START="false")
    uvicorn.run("server:app_factory", factory=True, workers=settings.workers, **options)


def database_url_for(settings: Settings) -> tuple[str, Any]:
    """`DATABASE_URL`, or an embedded PostgreSQL when it is not set (with its handle)."""
    if settings.database_url:
        return settings.database_url, None
    return start_embedded_postgres(settings.embedded_pgdata)


COMMANDS = ["serve", "migrate", "seed", "backfill", *commands.OPERATOR_COMMANDS, "export-schema"]


def _add_operator_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", help="create-api-key: who the key is for")
    parser.add_argument(
        "--scope", action="append", default=[], help="create-api-key: a scope (repeatable)"
    )
    parser.add_argument("--id", help="revoke-api-key: the key's id (see list-api-keys)")
    parser.add_argument("--older-than-hours", type=float, default=24.0)
    parser.add_argument("--output", default=str(Path(__file__).resolve().parent / "schema.graphql"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Job-posting wizard GraphQL API")
    parser.add_argument("command", nargs="?", default="serve", choices=COMMANDS)
    parser.add_argument("--no-migrate", action="store_true", help="do not migrate or seed at start")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=50_000,
        help="backfill: jobs per batch, each one transaction of about a second "
        "(fewer batches mean fewer passes counting what is left; see bench/backfill.py)",
    )
    _add_operator_arguments(parser)
    args = parser.parse_args(argv)
    if args.command == "export-schema":
        return commands.export_schema(schema.as_str(), Path(args.output))
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.no_migrate:
        settings = dataclasses.replace(settings, migrate_on_start=False, seed_on_start=False)
    try:
        database_url, _embedded = database_url_for(settings)
        if args.command == "migrate":
            asyncio.run(commands.migrate(database_url))
            return 0
        if args.command == "backfill":
            return run_backfill_command(database_url, batch_size=args.batch_size)
        if args.command == "seed":
            asyncio.run(
                commands.seed(database_url, load_catalogue(settings.catalogue_path), settings)
            )
            return 0
        if args.command in commands.OPERATOR_COMMANDS:
            return asyncio.run(commands.run_operator_command(args, database_url))
        load_catalogue(settings.catalogue_path)  # a broken catalogue stops us before serving
    except CatalogueError as exc:
        print(f"Catalogue error: {exc}", file=sys.stderr)
        return 2
    serve(settings, database_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
