"""The command line: `python server.py [SUBCOMMAND] [options]`, one argparse subcommand each.

serve (the default)        migrate and seed unless told not to, then serve (with the development
                           identity provider on loopback when no OIDC_ISSUER is set)
migrate                    apply pending migrations and exit
seed                       write the catalogue file into the database and exit
backfill                   fill jobs.micro_uuid of slug-only jobs, in batches, with progress
create-api-key             --name NAME [--scope jobs:write ...] [--rate N]; the key is the
                           last line
revoke-api-key / list-api-keys
purge-idempotency-keys     [--older-than-hours 24]
refresh-suggestions        [--full]: rebuild the related and popular services rollups
purge-uploads              delete uploads no job took within 24 h, with their bytes
erase-customer             --issuer I --subject S: erase a customer's personal data
export-customer            --issuer I --subject S: everything held about them, JSON to stdout
export-schema              [--output schema.graphql]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import logging.config
import os
import sys
from collections.abc import Sequence
from typing import Any

import asyncpg
import uvicorn

from api.connections import raise_open_file_limit, uvicorn_options
from app.root import create_app
from app.wiring import database_url_for, prepare_database
from config import ROOT, ConfigError, Settings
from domain.catalogue import load_catalogue
from domain.customers import Customer
from domain.errors import CatalogueError
from monitoring.logs import log_config
from ops import commands
from ops.backfill import run_backfill_command
from ops.identity_provider import development_identity, refusal
from schema import schema

log = logging.getLogger("jobwizard")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="server.py", description="Job-posting wizard GraphQL API")
    # `python server.py --no-migrate` serves too: serve is the default subcommand. The serve
    # subcommand's copy leaves the value alone when not given (SUPPRESS), so either place works.
    no_migrate_help = "do not migrate or seed before serving"
    root.add_argument("--no-migrate", action="store_true", help=no_migrate_help)
    sub = root.add_subparsers(dest="command", metavar="SUBCOMMAND")
    serve = sub.add_parser("serve", help="serve the API (the default)")
    serve.add_argument(
        "--no-migrate", action="store_true", default=argparse.SUPPRESS, help=no_migrate_help
    )
    sub.add_parser("migrate", help="apply pending migrations")
    sub.add_parser("seed", help="write the catalogue file into the database")
    backfill = sub.add_parser("backfill", help="fill the UUIDs of slug-only jobs")
    backfill.add_argument(
        "--batch-size",
        type=int,
        default=50_000,
        help="jobs per batch, each one transaction of about a second "
        "(fewer batches mean fewer passes counting what is left; see bench/backfill.py)",
    )
    create = sub.add_parser("create-api-key", help="issue an API key (printed once)")
    create.add_argument("--name", help="who the key is for")
    create.add_argument("--scope", action="append", default=[], help="a scope (repeatable)")
    create.add_argument(
        "--rate",
        type=int,
        default=None,
        help="the key's own budget of lookups per minute (default: RATE_LIMIT_PER_KEY)",
    )
    revoke = sub.add_parser("revoke-api-key", help="revoke a key by id")
    revoke.add_argument("--id", help="the key's id (see list-api-keys)")
    sub.add_parser("list-api-keys", help="list keys with their scopes and last use")
    purge = sub.add_parser("purge-idempotency-keys", help="delete old idempotency keys")
    purge.add_argument("--older-than-hours", type=float, default=24.0)
    refresh = sub.add_parser(
        "refresh-suggestions", help="rebuild the related and popular services rollups"
    )
    refresh.add_argument(
        "--full",
        action="store_true",
        help="recount popularity for the whole year, not just since the last refresh",
    )
    sub.add_parser("purge-uploads", help="delete uploads unattached for 24 h")
    for name, what in (
        ("erase-customer", "erase a customer's personal data (right to erasure)"),
        ("export-customer", "print everything held about a customer as JSON (right of access)"),
    ):
        person = sub.add_parser(name, help=what)
        person.add_argument("--issuer", required=True, help="the token issuer (iss)")
        person.add_argument("--subject", required=True, help="the customer's subject (sub)")
    export = sub.add_parser("export-schema", help="write the SDL")
    export.add_argument("--output", default=str(ROOT / "schema.graphql"))
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    command = args.command or "serve"
    if command == "export-schema":
        return commands.export_schema(schema.as_str(), args.output)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if command == "serve" and (refused := refusal(settings)) is not None:
        print(refused, file=sys.stderr)
        return 2
    logging.config.dictConfig(_log_config(settings))
    if getattr(args, "no_migrate", False):
        settings = settings.replace(migrate_on_start=False, seed_on_start=False)
    try:
        database_url, _embedded = database_url_for(settings)
        if command == "serve":
            load_catalogue(settings.catalogue_path)  # a broken catalogue stops us before serving
            try:
                with development_identity(settings) as served:
                    serve(served, database_url)
            except OSError as exc:
                print(exc, file=sys.stderr)
                return 2
            return 0
        if command == "migrate":
            asyncio.run(commands.migrate(database_url))
            return 0
        if command == "backfill":
            return run_backfill_command(database_url, batch_size=args.batch_size)
        if command == "refresh-suggestions":
            return asyncio.run(commands.refresh_suggestions(database_url, settings, full=args.full))
        if command == "seed":
            catalogue = load_catalogue(settings.catalogue_path)
            asyncio.run(commands.seed(database_url, catalogue))
            return 0
        return asyncio.run(_operator(command, args, database_url))
    except CatalogueError as exc:
        print(f"Catalogue error: {exc}", file=sys.stderr)
        return 2


async def _operator(command: str, args: argparse.Namespace, database_url: str) -> int:
    if command == "create-api-key":
        return await commands.create_api_key(
            database_url, name=args.name, scopes=args.scope, rate_per_minute=args.rate
        )
    if command == "revoke-api-key":
        return await commands.revoke(database_url, key_id=args.id)
    if command == "list-api-keys":
        return await commands.list_keys(database_url)
    if command == "purge-uploads":
        return await commands.purge_uploads(database_url)
    if command in ("erase-customer", "export-customer"):
        customer = Customer(issuer=args.issuer, subject=args.subject)
        if command == "erase-customer":
            return await commands.erase_customer(database_url, customer)
        return await commands.export_customer(database_url, customer)
    return await commands.purge_idempotency_keys(
        database_url, older_than_hours=args.older_than_hours
    )


def serve(settings: Settings, database_url: str) -> None:
    # uvloop and httptools are what uvicorn's "auto" picks when installed (uvicorn[standard]).
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level.lower(),
        # Every worker process configures its logging from this: one format everywhere.
        "log_config": _log_config(settings),
        **uvicorn_options(settings),
    }
    # Idle sockets must meet the timeouts, not the open-file limit; workers inherit this.
    raise_open_file_limit()
    base = f"http://{settings.host}:{settings.port}"
    log.info(
        "serving on %s (%d worker%s): post a job %s/post, dashboard %s/dashboard, "
        "GraphQL %s/graphql",
        base,
        settings.workers,
        "" if settings.workers == 1 else "s",
        base,
        base,
        base,
    )
    if settings.workers == 1:
        uvicorn.run(create_app(settings, database_url=database_url), **options)
        return
    # Worker processes import the app by name and build it from the environment: migrate and
    # seed once here, then hand them the database and tell them not to do it again.
    asyncio.run(_prepare(database_url, settings))
    os.environ.update(DATABASE_URL=database_url, MIGRATE_ON_START="false", SEED_ON_START="false")
    uvicorn.run(
        "server:app_factory",
        factory=True,
        workers=settings.workers,
        # uvicorn's default (5 s) kills a worker still starting on a loaded machine, again and
        # again: the parent then never has a worker that answers.
        timeout_worker_healthcheck=settings.worker_healthcheck_timeout_seconds,
        **options,
    )


def _log_config(settings: Settings) -> dict[str, Any]:
    return log_config(settings.log_level, repeat_interval=settings.log_repeat_interval_seconds)


async def _prepare(database_url: str, settings: Settings) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await prepare_database(conn, settings, load_catalogue(settings.catalogue_path))
    finally:
        await conn.close()
