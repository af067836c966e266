"""Apollo automatic persisted queries (APQ): a client sends the SHA-256 of a query instead of
the query; on a miss it is told `PersistedQueryNotFound` and sends both, which registers it.

The store is in-process by default, Redis (the process's shared client, shared by every worker)
when `REDIS_URL` is set. It is a cache, not a record: losing an entry only costs the client one
more round trip, so a Redis failure is logged and treated as a miss (loaders/redis_guard.py).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any, Protocol

from cachetools import Cache as BoundedCache
from cachetools import LRUCache, TTLCache

from api.http_errors import (
    BadRequestError,
    PersistedQueryHashMismatchError,
    PersistedQueryNotSupportedError,
)
from config import Settings
from loaders.redis_guard import FAILED, SharedRedis

_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
APQ_VERSION = 1


class QueryCache(Protocol):
    """What the store needs from a cache; neither kind raises (Redis failures are misses)."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl: int | None = None) -> None: ...

    async def close(self) -> None: ...


# What one stored document costs beside its text: the key, the entry, the str header.
_ENTRY_OVERHEAD_BYTES = 200


def _document_bytes(query: str) -> int:
    return len(query) + _ENTRY_OVERHEAD_BYTES


class MemoryQueryCache:
    """The in-process store: LRU-bounded in bytes (anyone may register documents, and memory
    must not grow with them), entries expiring after `ttl` seconds when one is set."""

    def __init__(self, *, max_entries: int, max_bytes: int, ttl: float | None) -> None:
        self._max_entries = max_entries
        self._entries: BoundedCache[str, str] = (
            TTLCache(maxsize=max_bytes, ttl=ttl, getsizeof=_document_bytes)
            if ttl
            else LRUCache(maxsize=max_bytes, getsizeof=_document_bytes)
        )

    async def get(self, key: str) -> str | None:
        return self._entries.get(key)

    async def set(self, key: str, value: str, ttl: int | None = None) -> None:
        if _document_bytes(value) > self._entries.maxsize:
            return
        while len(self._entries) >= self._max_entries and key not in self._entries:
            self._entries.popitem()  # the least recently used
        self._entries[key] = value

    async def close(self) -> None:
        self._entries.clear()


class RedisQueryCache:
    """The shared store: documents as Redis strings, through the process's guarded client."""

    def __init__(self, redis: SharedRedis, *, owns: bool) -> None:
        self._redis = redis
        self._owns = owns  # closed with the store only when made for it alone

    async def get(self, key: str) -> str | None:
        client = self._redis.client
        value = await self._redis.call("persisted queries", lambda: client.get(key))
        if value is FAILED or not isinstance(value, bytes):
            return None
        return value.decode("utf-8", "replace")

    async def set(self, key: str, value: str, ttl: int | None = None) -> None:
        client = self._redis.client
        await self._redis.call("persisted queries", lambda: client.set(key, value, ex=ttl))

    async def close(self) -> None:
        if self._owns:
            await self._redis.close()


class PersistedQueries:
    def __init__(self, cache: QueryCache, *, prefix: str, ttl: int | None) -> None:
        self._cache = cache
        self._prefix = prefix
        self._ttl = ttl or None

    @classmethod
    def from_settings(
        cls, settings: Settings, redis: SharedRedis | None = None
    ) -> PersistedQueries:
        """In Redis with `REDIS_URL` (the process's shared client when given one), else in
        process."""
        cache: QueryCache
        if redis is not None or settings.redis_url:
            shared = redis if redis is not None else SharedRedis.from_settings(settings)
            assert shared is not None
            cache = RedisQueryCache(shared, owns=redis is None)
        else:
            cache = MemoryQueryCache(
                max_entries=settings.persisted_query_max_entries,
                max_bytes=settings.persisted_query_max_bytes,
                ttl=settings.persisted_query_ttl or None,
            )
        return cls(cache, prefix=settings.persisted_query_prefix, ttl=settings.persisted_query_ttl)

    async def get(self, sha256: str) -> str | None:
        return await self._cache.get(self._prefix + sha256.lower())

    async def put(self, sha256: str, query: str) -> None:
        await self._cache.set(self._prefix + sha256.lower(), query, ttl=self._ttl)

    async def close(self) -> None:
        await self._cache.close()


def requested_hash(extensions: Mapping[str, Any] | None) -> str | None:
    """The sha256Hash of `extensions.persistedQuery`, or None when the request does not use
    APQ; refused (400) when it is malformed."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, Mapping):
        raise BadRequestError("extensions.persistedQuery must be an object.")
    if persisted.get("version") != APQ_VERSION:
        raise PersistedQueryNotSupportedError(
            f"Unsupported persisted query version; this server speaks version {APQ_VERSION}."
        )
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or not _SHA256_HEX.match(sha256):
        raise BadRequestError("extensions.persistedQuery.sha256Hash must be 64 hex digits.")
    return sha256.lower()


def verify(sha256: str, query: str) -> None:
    """Refuse to register `query` under a hash that is not its own."""
    if hashlib.sha256(query.encode("utf-8")).hexdigest() != sha256:
        raise PersistedQueryHashMismatchError("provided sha does not match query")
