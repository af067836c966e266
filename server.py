"""Entry point and wiring: settings -> app (lifespan: pool, catalogue, lookup) -> uvicorn.

python server.py            serve (migrates and seeds first unless told not to)
python server.py migrate    apply pending migrations and exit
python server.py seed       write db/catalogue.json into the database and exit
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
from typing import Any

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route

from api.health import health
from api.services import Services
from api.settings import ConfigError, Settings
from api.view import GraphQLView
from db.embedded import start_embedded_postgres
from db.migrate import apply_migrations
from db.pool import Connection, QueryLogger, create_pool
from db.seed import seed_catalogue
from domain.catalogue import Catalogue, load_catalogue
from domain.errors import CatalogueError
from loaders.lookup import MicroServiceLookup
from schema import schema

log = logging.getLogger("jobwizard")


async def prepare_database(conn: Connection, settings: Settings, catalogue: Catalogue) -> None:
    if settings.migrate_on_start:
        await apply_migrations(conn)
    if settings.seed_on_start:
        result = await seed_catalogue(conn, catalogue)
        log.info(
            "catalogue seeded: %d changed, %d deactivated",
            len(result.changed),
            len(result.deactivated),
        )


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
            query_loggers=query_loggers,
        )
        read_pool: asyncpg.Pool | None = None
        try:
            async with pool.acquire() as conn:
                await prepare_database(conn, settings, catalogue)
            if settings.database_read_url:
                # Catalogue lookups go to the replica; jobs (and migrations) stay on the primary.
                read_pool = await create_pool(
                    settings.database_read_url,
                    min_size=settings.db_pool_min,
                    max_size=settings.db_pool_max,
                    command_timeout=settings.db_command_timeout,
                    query_loggers=query_loggers,
                )
            services = Services(
                settings=settings,
                pool=pool,
                catalogue=catalogue,
                lookup=MicroServiceLookup(pool if read_pool is None else read_pool),
                read_pool=read_pool,
            )
            yield {"services": services}
        finally:
            if read_pool is not None:
                await read_pool.close()
            await pool.close()

    view = GraphQLView(schema, graphql_ide="graphiql" if settings.graphiql else None)
    return Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            Route("/health", health, methods=["GET"]),
        ],
        lifespan=lifespan,
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
        await prepare_database(conn, settings, load_catalogue(settings.catalogue_path))
    finally:
        await conn.close()


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


async def _migrate(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        applied = await apply_migrations(conn)
        print(f"{len(applied)} migration(s) applied.")
    finally:
        await conn.close()


async def _seed(database_url: str, catalogue: Catalogue) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await apply_migrations(conn)
        result = await seed_catalogue(conn, catalogue)
        changed, deactivated = len(result.changed), len(result.deactivated)
        print(f"Catalogue seeded: {changed} changed, {deactivated} deactivated.")
    finally:
        await conn.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Job-posting wizard GraphQL API")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "migrate", "seed"])
    parser.add_argument("--no-migrate", action="store_true", help="do not migrate or seed at start")
    args = parser.parse_args(argv)
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
            asyncio.run(_migrate(database_url))
            return 0
        if args.command == "seed":
            asyncio.run(_seed(database_url, load_catalogue(settings.catalogue_path)))
            return 0
        load_catalogue(settings.catalogue_path)  # a broken catalogue stops us before serving
    except CatalogueError as exc:
        print(f"Catalogue error: {exc}", file=sys.stderr)
        return 2
    serve(settings, database_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
