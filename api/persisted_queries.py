"""Apollo automatic persisted queries (APQ): a client sends the SHA-256 of a query instead of
the query; on a miss it is told `PersistedQueryNotFound` and sends both, which registers it.

The store is an aiocache cache: in-process by default, Redis (shared by every worker) when
`REDIS_URL` is set. It is a cache, not a record: losing an entry only costs the client one more
round trip, so a cache failure is logged and treated as a miss.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Mapping
from typing import Any, Protocol

from aiocache.serializers import StringSerializer
from cachetools import Cache as BoundedCache
from cachetools import LRUCache, TTLCache

from api.http_errors import (
    BadRequestError,
    PersistedQueryHashMismatchError,
    PersistedQueryNotSupportedError,
)
from config import Settings
from loaders.cache import REDIS_RETRY_AFTER, redis_level

log = logging.getLogger(__name__)

_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
APQ_VERSION = 1


class QueryCache(Protocol):
    """What the store needs from a cache (aiocache's BaseCache has it; so may a shared one)."""

    async def get(self, key: str) -> Any: ...

    async def set(self, key: str, value: Any, ttl: int | None = None) -> Any: ...

    async def close(self) -> Any: ...


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

    async def get(self, key: str) -> Any:
        return self._entries.get(key)

    async def set(self, key: str, value: Any, ttl: int | None = None) -> Any:
        if _document_bytes(value) > self._entries.maxsize:
            return
        while len(self._entries) >= self._max_entries and key not in self._entries:
            self._entries.popitem()  # the least recently used
        self._entries[key] = value

    async def close(self) -> Any:
        self._entries.clear()


class PersistedQueries:
    def __init__(
        self,
        cache: QueryCache,
        *,
        prefix: str,
        ttl: int | None,
        retry_after: float = REDIS_RETRY_AFTER,
    ) -> None:
        self._cache = cache
        self._prefix = prefix
        self._ttl = ttl or None
        # After a failure the store is skipped this long (every lookup a miss, nothing stored):
        # a hung Redis costs one timeout, not one per request.
        self._retry_after = retry_after
        self._skip_until = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> PersistedQueries:
        cache: QueryCache
        if settings.redis_url:
            cache = redis_level(
                settings.redis_url,
                settings.cache_redis_timeout_ms / 1000.0,
                serializer=StringSerializer(),
            )
        else:
            cache = MemoryQueryCache(
                max_entries=settings.persisted_query_max_entries,
                max_bytes=settings.persisted_query_max_bytes,
                ttl=settings.persisted_query_ttl or None,
            )
        return cls(cache, prefix=settings.persisted_query_prefix, ttl=settings.persisted_query_ttl)

    async def get(self, sha256: str) -> str | None:
        if time.monotonic() < self._skip_until:
            return None
        try:
            value = await self._cache.get(self._prefix + sha256.lower())
        except Exception as exc:  # a cache outage must not fail the request
            self._failed("persisted query lookup failed, treated as a miss", exc)
            return None
        return value if isinstance(value, str) else None

    async def put(self, sha256: str, query: str) -> None:
        if time.monotonic() < self._skip_until:
            return
        try:
            await self._cache.set(self._prefix + sha256.lower(), query, ttl=self._ttl)
        except Exception as exc:
            self._failed("persisted query not stored", exc)

    def _failed(self, what: str, exc: Exception) -> None:
        log.warning("%s (%r); store skipped for %.0f s", what, exc, self._retry_after)
        self._skip_until = time.monotonic() + self._retry_after

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
