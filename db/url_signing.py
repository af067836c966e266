"""The secret media URLs are signed with: one per database, made by migration 008, read once
per process."""

from __future__ import annotations

import asyncio

import asyncpg

from db.errors import is_transient
from db.pool import Connection
from domain.errors import ServiceUnavailableError

Executor = asyncpg.Pool | Connection

SELECT_URL_SIGNING_SECRET = "SELECT secret FROM url_signing_keys WHERE name = $1"


async def fetch_url_signing_secret(db: Executor, *, name: str = "media") -> bytes:
    """The secret media URLs are signed with: made by the migration, one per database, so every
    server process on it signs and verifies alike."""
    secret: bytes | None = await db.fetchval(SELECT_URL_SIGNING_SECRET, name)
    if secret is None:
        raise LookupError(f"No URL signing key {name!r}: run the migrations.")
    return secret


class UrlSigningSecret:
    """The media URL secret, read from the database on first use and then kept (it never
    changes while a server runs). Lazy, so that a server starts while PostgreSQL is down or not
    migrated yet, and photos work as soon as it is."""

    def __init__(self, db: Executor, *, name: str = "media") -> None:
        self._db = db
        self._name = name
        self._secret: bytes | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> bytes:
        """The secret; SERVICE_UNAVAILABLE while it cannot be read (database down, or migration
        008 not applied yet)."""
        if self._secret is None:
            async with self._lock:
                if self._secret is None:
                    try:
                        self._secret = await fetch_url_signing_secret(self._db, name=self._name)
                    except LookupError as exc:
                        raise ServiceUnavailableError("Photos are not available yet.") from exc
                    except Exception as exc:
                        if is_transient(exc):
                            raise ServiceUnavailableError(
                                "Photos cannot be read right now; retry."
                            ) from exc
                        raise
        return self._secret
