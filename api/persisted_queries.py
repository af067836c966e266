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
from collections.abc import Mapping
from typing import Any, Protocol

from aiocache import Cache
from aiocache.serializers import StringSerializer
from cachetools import Cache as BoundedCache
from cachetools import LRUCache, TTLCache

from api.http_errors import (
    BAD_REQUEST,
    PERSISTED_QUERY_HASH_MISMATCH,
    PERSISTED_QUERY_NOT_SUPPORTED,
    HTTPError,
)
from config import Settings

log = logging.getLogger(__name__)

_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
APQ_VERSION = 1


class QueryCache(Protocol):
    """What the store needs from a cache (aiocache's BaseCache has it; so may a shared one)."""

    async def get(self, key: str) -> Any: ...

    async def set(self, key: str, value: Any, ttl: int | None = None) -> Any: ...

    async def close(self) -> Any: ...


class MemoryQueryCache:
    """The in-process store: LRU-bounded (anyone may register documents, and memory must not
    grow with them), entries expiring after `ttl` seconds when one is set."""

    def __init__(self, *, max_entries: int, ttl: float | None) -> None:
        self._entries: BoundedCache[str, str] = (
            TTLCache(maxsize=max_entries, ttl=ttl) if ttl else LRUCache(maxsize=max_entries)
        )

    async def get(self, key: str) -> Any:
        return self._entries.get(key)

    async def set(self, key: str, value: Any, ttl: int | None = None) -> Any:
        self._entries[key] = value

    async def close(self) -> Any:
        self._entries.clear()


class PersistedQueries:
    def __init__(self, cache: QueryCache, *, prefix: str, ttl: int | None) -> None:
        self._cache = cache
        self._prefix = prefix
        self._ttl = ttl or None

    @classmethod
    def from_settings(cls, settings: Settings) -> PersistedQueries:
        cache: QueryCache
        if settings.redis_url:
            cache = Cache.from_url(settings.redis_url)
            cache.serializer = StringSerializer()  # type: ignore[attr-defined]
        else:
            cache = MemoryQueryCache(
                max_entries=settings.persisted_query_max_entries,
                ttl=settings.persisted_query_ttl or None,
            )
        return cls(cache, prefix=settings.persisted_query_prefix, ttl=settings.persisted_query_ttl)

    async def get(self, sha256: str) -> str | None:
        try:
            value = await self._cache.get(self._prefix + sha256.lower())
        except Exception as exc:  # a cache outage must not fail the request
            log.warning("persisted query lookup failed, treated as a miss: %r", exc)
            return None
        return value if isinstance(value, str) else None

    async def put(self, sha256: str, query: str) -> None:
        try:
            await self._cache.set(self._prefix + sha256.lower(), query, ttl=self._ttl)
        except Exception as exc:
            log.warning("persisted query not stored: %r", exc)

    async def close(self) -> None:
        await self._cache.close()


def requested_hash(extensions: Mapping[str, Any] | None) -> str | None:
    """The sha256Hash of `extensions.persistedQuery`, or None when the request does not use
    APQ; raise HTTPError (400) when it is malformed."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, Mapping):
        raise HTTPError(400, "extensions.persistedQuery must be an object.", BAD_REQUEST)
    if persisted.get("version") != APQ_VERSION:
        raise HTTPError(
            400,
            f"Unsupported persisted query version; this server speaks version {APQ_VERSION}.",
            PERSISTED_QUERY_NOT_SUPPORTED,
        )
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or not _SHA256_HEX.match(sha256):
        raise HTTPError(
            400, "extensions.persistedQuery.sha256Hash must be 64 hex digits.", BAD_REQUEST
        )
    return sha256.lower()


def verify(sha256: str, query: str) -> None:
    """Refuse to register `query` under a hash that is not its own."""
    if hashlib.sha256(query.encode("utf-8")).hexdigest() != sha256:
        raise HTTPError(400, "provided sha does not match query", PERSISTED_QUERY_HASH_MISMATCH)
