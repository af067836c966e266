"""API keys in PostgreSQL: SQL as named constants and the repository functions around them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from db.pool import Connection

Executor = asyncpg.Pool | Connection

INSERT_API_KEY = """
INSERT INTO api_keys (name, key_sha256, scopes, rate_per_minute) VALUES ($1, $2, $3::text[], $4)
RETURNING id, name, scopes, created_at, last_used_at, revoked_at
"""
# One round trip per authenticated request: find the live key by its hash, and record its use.
# last_used_at is written at most once a minute per key, so a busy partner does not turn every
# request into a row update.
AUTHENTICATE_API_KEY = """
WITH found AS (
    SELECT id, name, key_sha256, scopes, rate_per_minute, last_used_at FROM api_keys
     WHERE key_sha256 = $1 AND revoked_at IS NULL
), touched AS (
    UPDATE api_keys SET last_used_at = now()
      FROM found
     WHERE api_keys.id = found.id
       AND (found.last_used_at IS NULL OR found.last_used_at < now() - interval '1 minute')
)
SELECT id, name, key_sha256, scopes, rate_per_minute FROM found
"""
REVOKE_API_KEY = """
UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1
RETURNING id, name, scopes, created_at, last_used_at, revoked_at
"""
SELECT_API_KEYS = """
SELECT id, name, scopes, created_at, last_used_at, revoked_at FROM api_keys
 ORDER BY created_at, name
"""


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    id: UUID
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> ApiKeyRow:
        return cls(
            id=row["id"],
            name=row["name"],
            scopes=tuple(row["scopes"]),
            created_at=row["created_at"],
            last_used_at=row["last_used_at"],
            revoked_at=row["revoked_at"],
        )


@dataclass(frozen=True, slots=True)
class LiveKey:
    id: UUID
    name: str
    key_sha256: str
    scopes: tuple[str, ...]
    rate_per_minute: int | None = None  # None: the server's default budget


async def insert_api_key(
    db: Executor,
    *,
    name: str,
    key_sha256: str,
    scopes: Sequence[str],
    rate_per_minute: int | None = None,
) -> ApiKeyRow:
    row = await db.fetchrow(INSERT_API_KEY, name, key_sha256, list(scopes), rate_per_minute)
    assert row is not None  # INSERT ... RETURNING always yields the row
    return ApiKeyRow.from_row(row)


async def find_live_key(db: Executor, *, key_sha256: str) -> LiveKey | None:
    """The unrevoked key with this hash, its use recorded; None when there is none."""
    row = await db.fetchrow(AUTHENTICATE_API_KEY, key_sha256)
    if row is None:
        return None
    return LiveKey(
        row["id"], row["name"], row["key_sha256"], tuple(row["scopes"]), row["rate_per_minute"]
    )


async def revoke_api_key(db: Executor, *, key_id: UUID) -> ApiKeyRow | None:
    row = await db.fetchrow(REVOKE_API_KEY, key_id)
    return None if row is None else ApiKeyRow.from_row(row)


async def list_api_keys(db: Executor) -> list[ApiKeyRow]:
    return [ApiKeyRow.from_row(row) for row in await db.fetch(SELECT_API_KEYS)]
