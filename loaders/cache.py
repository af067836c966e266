"""The lookup cache: a bounded in-process LRU level, and a shared Redis level when configured.

aiocache 0.12's `SimpleMemoryCache` grows without bound (one dict entry and one timer handle per
key), so a client asking for a million distinct slugs would grow the process by a million
entries. `BoundedMemoryCache` keeps aiocache's interface (so it drops in wherever a `BaseCache`
goes) with an LRU bound and lazy expiry: no timer per key, memory flat at the bound.

`LookupCache` is what the lookup talks to: one multi-get per batch (local first, then one Redis
MGET for what the local level lacked), one multi-set per TTL class, and Redis failures that are
logged and skipped, never raised: Redis is an optimisation, PostgreSQL is the store of record.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from aiocache.base import BaseCache
from aiocache.serializers import JsonSerializer, NullSerializer

from db.records import MicroServiceRecord

log = logging.getLogger(__name__)


class _NotFound:
    """The cached answer "no active micro service has this slug" (negative caching)."""

    _instance: _NotFound | None = None

    def __new__(cls) -> _NotFound:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_FOUND"


NOT_FOUND: Final = _NotFound()
_FAILED: Final = object()  # what `_redis_call` returns when Redis did not answer
CachedLookup = MicroServiceRecord | _NotFound


class BoundedMemoryCache(BaseCache):  # type: ignore[misc]  # aiocache ships no type hints
    """An aiocache backend holding at most `max_entries` keys, least recently used out first.

    Expiry is checked on read (and expired keys are dropped then), so no timer is kept per key.
    Values are stored as given (NullSerializer): the caller must not mutate them.
    """

    NAME = "bounded-memory"

    def __init__(
        self,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        **kwargs: Any,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        kwargs.setdefault("serializer", NullSerializer())
        super().__init__(**kwargs)
        self.max_entries = max_entries
        self.evictions = 0
        self._clock = clock
        self._entries: OrderedDict[str, tuple[Any, float | None]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def _live(self, key: str) -> tuple[Any, float | None] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at = entry[1]
        if expires_at is not None and expires_at <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def _store(self, key: str, value: Any, ttl: float | None) -> None:
        expires_at = self._clock() + ttl if ttl else None
        self._entries[key] = (value, expires_at)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
            self.evictions += 1

    async def _get(self, key: str, encoding: str | None = "utf-8", _conn: Any = None) -> Any:
        entry = self._live(key)
        return None if entry is None else entry[0]

    async def _gets(self, key: str, encoding: str | None = "utf-8", _conn: Any = None) -> Any:
        return await self._get(key, encoding=encoding)

    async def _multi_get(
        self, keys: Sequence[str], encoding: str | None = "utf-8", _conn: Any = None
    ) -> list[Any]:
        return self.peek_many(keys)

    def peek_many(self, keys: Sequence[str]) -> list[Any]:
        """`multi_get` without aiocache's per-call machinery. aiocache wraps every call in a
        timeout (a new task per call) and plugin hooks; for dictionary reads with no namespace
        and no serializer that was ~10 % of a cached lookup's CPU, on the hottest path."""
        return [None if (entry := self._live(key)) is None else entry[0] for key in keys]

    async def _set(
        self,
        key: str,
        value: Any,
        ttl: float | None = None,
        _cas_token: Any = None,
        _conn: Any = None,
    ) -> bool:
        if _cas_token is not None:
            current = self._live(key)
            if current is None or current[0] != _cas_token:
                return False
        self._store(key, value, ttl)
        return True

    async def _multi_set(
        self, pairs: Iterable[tuple[str, Any]], ttl: float | None = None, _conn: Any = None
    ) -> bool:
        for key, value in pairs:
            self._store(key, value, ttl)
        return True

    async def _add(self, key: str, value: Any, ttl: float | None = None, _conn: Any = None) -> bool:
        if self._live(key) is not None:
            raise ValueError(f"Key {key} already exists, use .set to update the value")
        self._store(key, value, ttl)
        return True

    async def _exists(self, key: str, _conn: Any = None) -> bool:
        return self._live(key) is not None

    async def _expire(self, key: str, ttl: float | None, _conn: Any = None) -> bool:
        entry = self._live(key)
        if entry is None:
            return False
        self._store(key, entry[0], ttl)
        return True

    async def _delete(self, key: str, _conn: Any = None) -> int:
        return 0 if self._entries.pop(key, None) is None else 1

    async def _clear(self, namespace: str | None = None, _conn: Any = None) -> bool:
        if namespace:
            for key in [k for k in self._entries if k.startswith(namespace)]:
                del self._entries[key]
        else:
            self._entries.clear()
        return True

    async def _raw(self, command: str, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("BoundedMemoryCache has no raw commands")


@dataclass(frozen=True, slots=True)
class RedisAddress:
    host: str
    port: int
    db: int
    password: str | None

    @classmethod
    def parse(cls, url: str) -> RedisAddress:
        """`redis://[:password@]host[:port][/db]`; raises ValueError naming what is wrong."""
        parts = urlsplit(url)
        if parts.scheme != "redis":
            raise ValueError(f"REDIS_URL must start with redis://, got {url!r}")
        path = parts.path.strip("/")
        if path and not path.isdigit():
            raise ValueError(f"REDIS_URL database must be a number, got {path!r}")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            db=int(path or 0),
            password=unquote(parts.password) if parts.password else None,
        )


def _to_json(value: CachedLookup) -> dict[str, Any]:
    if isinstance(value, _NotFound):
        return {"missing": True}
    return {
        "id": value.id_text,
        "slug": value.slug,
        "name": value.name,
        "category": value.category,
        "subcategory": value.subcategory,
        "description": value.description,
    }


def _from_json(raw: Any) -> CachedLookup | None:
    """None for anything that is not a value we wrote (a foreign or corrupt key is a miss)."""
    if not isinstance(raw, dict):
        return None
    if raw.get("missing") is True:
        return NOT_FOUND
    try:
        return MicroServiceRecord(
            id=uuid.UUID(raw["id"]),
            slug=raw["slug"],
            name=raw["name"],
            category=raw["category"],
            subcategory=raw["subcategory"],
            description=raw["description"],
        )
    except (KeyError, TypeError, ValueError):
        return None


class LookupCache:
    """Slug -> cached lookup answer, over one or two levels (see the module docstring)."""

    def __init__(
        self,
        local: BoundedMemoryCache,
        redis: BaseCache | None = None,
        *,
        namespace: str = "jobwizard:ms",
        ttl: float = 1800.0,
        negative_ttl: float = 60.0,
        redis_retry_after: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.local = local
        self.redis = redis
        self.namespace = namespace
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.redis_errors = 0
        self._redis_retry_after = redis_retry_after
        self._redis_skip_until = 0.0
        self._clock = clock

    @classmethod
    def create(
        cls,
        *,
        max_entries: int = 10_000,
        ttl: float = 1800.0,
        negative_ttl: float = 60.0,
        namespace: str = "jobwizard:ms",
        redis_url: str | None = None,
        redis_timeout: float = 0.1,
    ) -> LookupCache:
        redis: BaseCache | None = None
        if redis_url:
            # Imported here: the Redis client is only needed when Redis is configured.
            from aiocache import RedisCache

            address = RedisAddress.parse(redis_url)
            redis = RedisCache(
                serializer=JsonSerializer(),
                endpoint=address.host,
                port=address.port,
                db=address.db,
                password=address.password,
                timeout=redis_timeout,
                create_connection_timeout=redis_timeout,
            )
        return cls(
            BoundedMemoryCache(max_entries=max_entries),
            redis,
            namespace=namespace,
            ttl=ttl,
            negative_ttl=negative_ttl,
        )

    @property
    def backend(self) -> str:
        return "memory+redis" if self.redis is not None else "memory"

    def key(self, slug: str) -> str:
        return f"{self.namespace}:{slug}"

    async def get_many(self, slugs: Sequence[str]) -> list[CachedLookup | None]:
        """The cached answer per slug (None for a miss): one local multi-get, then one Redis
        MGET for the local misses, whose hits are copied into the local level."""
        keys = [self.key(slug) for slug in slugs]
        # The local level is built without namespace or serializer (create()): a plain read.
        values: list[CachedLookup | None] = self.local.peek_many(keys)
        missing = [i for i, value in enumerate(values) if value is None]
        if not missing or not self._redis_usable():
            return values
        raw = await self._redis_call(self._redis().multi_get([keys[i] for i in missing]))
        if raw is _FAILED:
            return values
        found: dict[str, CachedLookup] = {}
        for i, item in zip(missing, raw, strict=True):
            value = _from_json(item)
            if value is not None:
                values[i] = value
                found[slugs[i]] = value
        await self._set_local(found)
        return values

    async def set_many(
        self, found: Mapping[str, MicroServiceRecord], not_found: Iterable[str] = ()
    ) -> None:
        """Cache rows for `ttl` and definite misses for `negative_ttl`, in both levels."""
        answers: dict[str, CachedLookup] = dict(found)
        answers.update((slug, NOT_FOUND) for slug in not_found)
        if not answers:
            return
        await self._set_local(answers)
        if not self._redis_usable():
            return
        calls = [
            self._redis().multi_set(
                [(self.key(slug), _to_json(value)) for slug, value in group.items()], ttl=ttl
            )
            for group, ttl in self._by_ttl(answers)
        ]
        # Positive and negative entries differ in TTL, which a multi-set takes once per call:
        # the (at most) two calls go out together, so the batch waits one round trip.
        await self._redis_call(asyncio.gather(*calls))

    async def invalidate(self, slugs: Iterable[str]) -> None:
        keys = [self.key(slug) for slug in slugs]
        if not keys:
            return
        for key in keys:
            await self.local.delete(key)
        if self.redis is not None:
            # Always tried (not only when usable): a stale shared entry outlives this process.
            await self._redis_call(self._redis().raw("delete", *keys), force=True)

    async def redis_reachable(self) -> bool | None:
        """None without Redis; otherwise whether it answers PING now."""
        if self.redis is None:
            return None
        return await self._redis_call(self._redis().raw("ping"), force=True) is not _FAILED

    async def close(self) -> None:
        if self.redis is not None:
            # aiocache's close() calls redis-py's deprecated close(); aclose() is the current one.
            await self.redis.client.aclose()

    def _by_ttl(
        self, answers: Mapping[str, CachedLookup]
    ) -> list[tuple[dict[str, CachedLookup], float]]:
        positive: dict[str, CachedLookup] = {
            k: v for k, v in answers.items() if not isinstance(v, _NotFound)
        }
        negative: dict[str, CachedLookup] = {
            k: v for k, v in answers.items() if isinstance(v, _NotFound)
        }
        return [(g, ttl) for g, ttl in ((positive, self.ttl), (negative, self.negative_ttl)) if g]

    async def _set_local(self, answers: Mapping[str, CachedLookup]) -> None:
        for group, ttl in self._by_ttl(answers):
            await self.local.multi_set([(self.key(s), v) for s, v in group.items()], ttl=ttl)

    def _redis(self) -> Any:
        assert self.redis is not None
        return self.redis

    def _redis_usable(self) -> bool:
        return self.redis is not None and self._clock() >= self._redis_skip_until

    async def _redis_call(self, call: Any, *, force: bool = False) -> Any:
        """Await a Redis operation; on any failure log, back off for a while, return _FAILED."""
        try:
            result = await call
        except Exception as exc:  # Redis trouble of any kind must never fail a request
            self.redis_errors += 1
            if force or self._clock() >= self._redis_skip_until:
                log.warning(
                    "Redis cache level failed (%s: %s); using the in-process level and the "
                    "database for %.0f s",
                    type(exc).__name__,
                    exc,
                    self._redis_retry_after,
                )
            self._redis_skip_until = self._clock() + self._redis_retry_after
            return _FAILED
        return result
