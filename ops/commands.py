"""The bodies of the operator subcommands (ops/cli.py): migrate, seed, API keys,
idempotency-key and upload cleanup, the suggestion rollups, a customer's erasure and export,
the SDL.

Each returns the process exit status and prints what an operator needs; a new key is printed
once, on the last line, so that scripts can take it with `tail -n 1`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from uuid import UUID

import asyncpg

from app.suggestions import refresh_now
from config import Settings
from db.api_keys import insert_api_key, list_api_keys, revoke_api_key
from db.idempotency import delete_idempotency_keys_older_than
from db.media_store import PostgresMediaStore
from db.migrate import apply_migrations
from db.notifications import catalogue_version
from db.personal_data import erase_customer as erase_personal_data
from db.personal_data import export_customer as export_personal_data
from db.pool import single_connection
from db.seed import seed_catalogue
from db.uploads import purge_expired_uploads
from domain.api_keys import MAX_RATE_PER_MINUTE, check_scopes, generate_key, hash_key
from domain.catalogue import Catalogue
from domain.customers import Customer
from domain.idempotency import RETENTION_SECONDS
from domain.uploads import UNATTACHED_TTL


async def migrate(database_url: str) -> None:
    """`python server.py migrate`: apply pending migrations."""
    async with single_connection(database_url) as conn:
        applied = await apply_migrations(conn)
        print(f"{len(applied)} migration(s) applied.")


async def seed(database_url: str, catalogue: Catalogue) -> None:
    """`python server.py seed`: upsert the catalogue. Its notice moves every running server's
    caches (both levels) to the new catalogue version, so nothing is dropped from Redis here."""
    async with single_connection(database_url) as conn:
        await apply_migrations(conn)
        result = await seed_catalogue(conn, catalogue)
        changed, deactivated = len(result.changed), len(result.deactivated)
        print(f"Catalogue seeded: {changed} changed, {deactivated} deactivated.")
        version = await catalogue_version(conn)
        print(f"Catalogue version {version}: running servers drop their cached answers now.")


async def create_api_key(
    database_url: str,
    *,
    name: str | None,
    scopes: Sequence[str],
    rate_per_minute: int | None = None,
) -> int:
    if not name or not name.strip():
        print("create-api-key needs --name NAME.", file=sys.stderr)
        return 2
    if rate_per_minute is not None and not 1 <= rate_per_minute <= MAX_RATE_PER_MINUTE:
        print(f"--rate must be between 1 and {MAX_RATE_PER_MINUTE}.", file=sys.stderr)
        return 2
    try:
        checked = check_scopes(scopes)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    key = generate_key()
    async with single_connection(database_url) as conn:
        await apply_migrations(conn)
        row = await insert_api_key(
            conn,
            name=name.strip(),
            key_sha256=hash_key(key),
            scopes=checked,
            rate_per_minute=rate_per_minute,
        )
    # The key alone on stdout, so that `KEY=$(server.py create-api-key ...)` reads just it;
    # what a person reads goes to stderr with the logs.
    scopes_text = ", ".join(checked) or "(none)"
    print(f"Created API key {row.id} '{row.name}' with scopes: {scopes_text}.", file=sys.stderr)
    if rate_per_minute is not None:
        print(f"Its budget: {rate_per_minute} lookups per minute.", file=sys.stderr)
    print("Store the key now; it is not kept and cannot be shown again:", file=sys.stderr)
    print(key, flush=True)
    return 0


async def revoke(database_url: str, *, key_id: str | None) -> int:
    try:
        parsed = UUID(key_id or "")
    except ValueError:
        print("revoke-api-key needs --id KEY_ID (see list-api-keys).", file=sys.stderr)
        return 2
    async with single_connection(database_url) as conn:
        row = await revoke_api_key(conn, key_id=parsed)
    if row is None:
        print(f"No API key has the id {parsed}.", file=sys.stderr)
        return 1
    print(f"Revoked API key {row.id} '{row.name}' (at {row.revoked_at:%Y-%m-%d %H:%M:%S %Z}).")
    return 0


async def list_keys(database_url: str) -> int:
    async with single_connection(database_url) as conn:
        rows = await list_api_keys(conn)
    print(f"{'id':36}  {'name':20}  {'scopes':20}  {'created':16}  {'last used':16}  revoked")
    for row in rows:
        print(
            f"{row.id!s:36}  {row.name[:20]:20}  {','.join(row.scopes)[:20]:20}  "
            f"{_when(row.created_at):16}  {_when(row.last_used_at):16}  {_when(row.revoked_at)}"
        )
    return 0


async def purge_idempotency_keys(database_url: str, *, older_than_hours: float) -> int:
    seconds = older_than_hours * 3600
    if seconds < RETENTION_SECONDS:
        print(
            f"Idempotency keys are kept at least {RETENTION_SECONDS // 3600} h; "
            "--older-than-hours must be at least that.",
            file=sys.stderr,
        )
        return 2
    async with single_connection(database_url) as conn:
        deleted = await delete_idempotency_keys_older_than(conn, seconds=seconds)
    print(f"Deleted {deleted} idempotency key(s) older than {older_than_hours:g} h.")
    return 0


async def refresh_suggestions(database_url: str, settings: Settings, *, full: bool) -> int:
    async with single_connection(database_url) as conn:
        counts = await refresh_now(conn, settings, full=full)
    print(
        f"Refreshed suggestions: {counts.pairs} related-service pair(s); "
        f"{counts.popularity_rows} popularity row(s) recounted"
        f"{' (the whole year)' if full else ''}."
    )
    return 0


async def purge_uploads(database_url: str) -> int:
    """`python server.py purge-uploads`: delete uploads no job took within a day, bytes and
    all. Safe beside running servers (and their own periodic purge)."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        purged = await purge_expired_uploads(pool, PostgresMediaStore(pool))
    finally:
        await pool.close()
    hours = UNATTACHED_TTL.total_seconds() / 3600
    print(f"Deleted {purged} upload(s) left unattached for more than {hours:g} h.")
    return 0


async def erase_customer(database_url: str, customer: Customer) -> int:
    """`python server.py erase-customer`: what eraseMyData does, for an operator answering a
    request that came another way. Safe to run twice."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        erased = await erase_personal_data(pool, PostgresMediaStore(pool), customer, actor=None)
    finally:
        await pool.close()
    if erased == 0:
        print("No customer with this issuer and subject is held (nothing to erase).")
        return 0
    print(f"Erased the customer and the personal data of {erased} job(s); open ones cancelled.")
    return 0


async def export_customer(database_url: str, customer: Customer) -> int:
    """`python server.py export-customer`: everything held about a customer, as JSON."""
    async with single_connection(database_url) as conn:
        held = await export_personal_data(conn, customer)
    if held is None:
        print("No customer with this issuer and subject is held.", file=sys.stderr)
        return 1
    print(json.dumps(held, indent=2, ensure_ascii=False, default=str))
    return 0


def export_schema(sdl: str, output: str) -> int:
    path = Path(output)
    path.write_text(sdl + "\n", encoding="utf-8")
    print(f"Wrote {path}.")
    return 0


def _when(moment: object) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M}"
