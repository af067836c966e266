"""Where uploaded images' bytes live: a small store interface, and its PostgreSQL implementation.

The interface is what an object store offers (put, get, delete by key; blobs never change), so an
S3-compatible store can replace this one behind the same calls. The PostgreSQL one keeps blobs in
a table of its own, so uploads work with the embedded database and need no other service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import asyncpg

from db.pool import Connection

Executor = asyncpg.Pool | Connection

INSERT_MEDIA_BLOBS = """
INSERT INTO media_blobs (key, content_type, data)
SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])
"""
SELECT_MEDIA_BLOB = "SELECT content_type, data FROM media_blobs WHERE key = $1"
DELETE_MEDIA_BLOBS = "DELETE FROM media_blobs WHERE key = ANY($1::text[])"


@dataclass(frozen=True, slots=True)
class Blob:
    key: str
    content_type: str
    data: bytes


class MediaStore(Protocol):
    """Immutable blobs by key."""

    async def put(self, blobs: Sequence[Blob]) -> None:
        """Store every blob, or none (a key already taken is an error)."""

    async def get(self, key: str) -> Blob | None:
        """The blob under `key`, or None."""

    async def delete(self, keys: Sequence[str]) -> int:
        """Delete the blobs under `keys` (missing ones are no error); how many went."""


class PostgresMediaStore:
    """The media store in the application's own database (table media_blobs)."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    async def put(self, blobs: Sequence[Blob]) -> None:
        # One statement: all of an upload's renditions are stored, or none is.
        await self._db.execute(
            INSERT_MEDIA_BLOBS,
            [b.key for b in blobs],
            [b.content_type for b in blobs],
            [b.data for b in blobs],
        )

    async def get(self, key: str) -> Blob | None:
        row = await self._db.fetchrow(SELECT_MEDIA_BLOB, key)
        return None if row is None else Blob(key, row["content_type"], row["data"])

    async def delete(self, keys: Sequence[str]) -> int:
        if not keys:
            return 0
        status = await self._db.execute(DELETE_MEDIA_BLOBS, list(keys))
        return int(status.split()[-1])
