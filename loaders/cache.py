"""The lookup cache: a bounded in-process LRU level, and a shared Redis level when configured.

The in-process level is a cachetools LRUCache: bounded (a client asking for a million distinct
slugs cannot grow the process), each entry with its own expiry, no timer per key. aiocache's
`SimpleMemoryCache` keeps a timer handle per key and has no bound, so it is not used here. The
shared level is the process's one Redis client and its guard (loaders/redis_guard.py), called
directly: aiocache cannot be handed that client.

`LookupCache` is what the lookup talks to: one multi-get per batch (local first, then one Redis
MGET for what the local level lacked), one multi-set per TTL class, and Redis failures that are
logged and skipped, never raised: Redis is an optimisation, PostgreSQL is the store of record.

Every key carries the catalogue version the process holds (`version`, moved by the invalidation
notices): after a catalogue change, by whatever writer, no instance reads an entry another
instance (or itself) stored before it, and the old version's entries expire with their TTL.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import orjson
from cachetools import LRUCache

from config import Settings
from db.records import MicroServiceRecord
from loaders.redis_guard import FAILED, SharedRedis


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
CachedLookup = MicroServiceRecord | _NotFound


# What an entry costs beside its text: the key and tuple objects, the cache's own bookkeeping.
_ENTRY_OVERHEAD_BYTES = 300


def entry_bytes(key: str, value: Any) -> int:
    """An estimate of what keeping `value` under `key` costs: enough to bound memory by what
    clients send (a long slug costs its length), not an exact accounting."""
    size = _ENTRY_OVERHEAD_BYTES + len(key)
    if isinstance(value, MicroServiceRecord):
        size += sum(
            len(text)
            for text in (
                value.slug,
                value.name,
                value.category,
                value.subcategory,
                value.description or "",
            )
        )
    return size


class MemoryLevel:
    """An in-process level: a cachetools `LRUCache`, least recently used out at the bounds
    (entries, and bytes as `entry_bytes` counts them). Each entry carries its own expiry,
    checked when read (an expired entry is dropped then), so there is no timer per key and one
    level holds both TTL classes. Values are stored as given: the caller must not mutate them."""

    def __init__(
        self,
        *,
        max_entries: int,
        max_bytes: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        level = self

        class _Counting(LRUCache[str, tuple[Any, float, int]]):
            def popitem(self) -> tuple[str, tuple[Any, float, int]]:
                item = super().popitem()
                level.evictions += 1
                return item

        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.evictions = 0
        self._clock = clock
        # The size travels with the value, so cachetools can bound the sum of the sizes.
        self._entries = _Counting(
            maxsize=max_bytes if max_bytes is not None else max_entries,
            getsizeof=(lambda entry: entry[2]) if max_bytes is not None else None,
        )

    @property
    def bytes(self) -> int:
        """What the entries cost, as `entry_bytes` estimates it."""
        return int(sum(entry[2] for entry in self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)

    def peek(self, key: str) -> Any:
        """`peek_many` for one key, without building a list: its value, or None."""
        try:
            value, expires_at, _size = self._entries[key]
        except KeyError:
            return None
        if expires_at > self._clock():
            return value
        del self._entries[key]
        return None

    def peek_many(self, keys: Sequence[str]) -> list[Any]:
        # The hottest path of a cached lookup: one clock read, one indexing per key. (cachetools'
        # TLRUCache checks expiry on every access and costs about three times as much here.)
        entries, now = self._entries, self._clock()
        found: list[Any] = []
        for key in keys:
            try:
                value, expires_at, _size = entries[key]
            except KeyError:
                found.append(None)
                continue
            if expires_at > now:
                found.append(value)
            else:
                del entries[key]
                found.append(None)
        return found

    def set_many(self, pairs: Iterable[tuple[str, Any]], ttl: float) -> None:
        entries, expires_at = self._entries, self._clock() + ttl
        for key, value in pairs:
            size = entry_bytes(key, value)
            if self.max_bytes is not None and size > self.max_bytes:
                continue  # larger than the whole level: never cached
            while len(entries) >= self.max_entries and key not in entries:
                entries.popitem()
            entries[key] = (value, expires_at, size)

    def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


def _to_json(value: CachedLookup) -> bytes:
    if isinstance(value, _NotFound):
        return orjson.dumps({"missing": True})
    return orjson.dumps(
        {
            "id": value.id_text,
            "slug": value.slug,
            "name": value.name,
            "category": value.category,
            "subcategory": value.subcategory,
            "description": value.description,
        }
    )


def _from_json(stored: bytes | str | None) -> CachedLookup | None:
    """None for anything that is not a value we wrote (a foreign or corrupt key is a miss)."""
    try:
        raw = orjson.loads(stored) if stored is not None else None
    except orjson.JSONDecodeError:
        return None
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
        local: MemoryLevel,
        redis: SharedRedis | None = None,
        *,
        negative: MemoryLevel | None = None,
        namespace: str,
        ttl: float,
        negative_ttl: float,
        owns_redis: bool = False,
    ) -> None:
        self.local = local
        # Unknown slugs live in a level of their own: anyone can ask for any number of them,
        # and they must never push out the catalogue's rows (warmed or not).
        self.negative = negative if negative is not None else MemoryLevel(max_entries=1000)
        self.redis = redis
        self.namespace = namespace
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        # Bumped when the catalogue changes: answers read before that are not stored after it.
        self.generation = 0
        # The catalogue version every key is stored under (see the module docstring).
        self.version = 0
        self._owns_redis = owns_redis  # closed with the cache only when made for it alone

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        redis: SharedRedis | None = None,
        redis_timeout: float | None = None,
    ) -> LookupCache:
        """The cache the settings describe: the in-process level, plus Redis with `REDIS_URL`
        (the process's shared client when given one, else a client of its own)."""
        owns = redis is None
        if redis is None:
            redis = SharedRedis.from_settings(settings, redis_timeout)
        return cls(
            MemoryLevel(max_entries=settings.cache_max_entries, max_bytes=settings.cache_max_bytes),
            redis,
            negative=MemoryLevel(
                max_entries=settings.cache_negative_max_entries,
                max_bytes=settings.cache_negative_max_bytes,
            ),
            namespace=settings.cache_namespace,
            ttl=settings.cache_ttl_seconds,
            negative_ttl=settings.cache_negative_ttl_seconds,
            owns_redis=owns,
        )

    @property
    def backend(self) -> str:
        return "memory+redis" if self.redis is not None else "memory"

    @property
    def redis_errors(self) -> int:
        """Failed Redis calls so far (of every user of the shared client)."""
        return 0 if self.redis is None else self.redis.errors

    def key(self, slug: str) -> str:
        return f"{self.namespace}:v{self.version}:{slug}"

    async def get_many(self, slugs: Sequence[str]) -> list[CachedLookup | None]:
        """The cached answer per slug (None for a miss): one local multi-get, then one Redis
        MGET for the local misses, whose hits are copied into the local level."""
        keys = [self.key(slug) for slug in slugs]
        values: list[CachedLookup | None] = self.local.peek_many(keys)
        missing = [i for i, value in enumerate(values) if value is None]
        if missing:
            for i, value in zip(
                missing, self.negative.peek_many([keys[i] for i in missing]), strict=True
            ):
                values[i] = value
            missing = [i for i in missing if values[i] is None]
        redis = self.redis
        if not missing or redis is None or not redis.usable:
            return values
        wanted = [keys[i] for i in missing]
        raw = await redis.call("lookup cache", lambda: redis.client.mget(wanted))
        if raw is FAILED:
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
        self,
        found: Mapping[str, MicroServiceRecord],
        not_found: Iterable[str] = (),
        *,
        generation: int | None = None,
    ) -> None:
        """Cache rows for `ttl` and definite misses for `negative_ttl`, in both levels; nothing
        when `generation` (taken before reading them) is no longer current."""
        if generation is not None and generation != self.generation:
            return
        answers: dict[str, CachedLookup] = dict(found)
        answers.update((slug, NOT_FOUND) for slug in not_found)
        if not answers:
            return
        await self._set_local(answers)
        redis = self.redis
        if redis is None or not redis.usable:
            return

        async def store() -> None:
            # Positive and negative entries differ in TTL: one pipeline sends both kinds, so
            # the batch waits one round trip.
            async with redis.client.pipeline(transaction=False) as pipe:
                for group, ttl in self._by_ttl(answers):
                    for slug, value in group.items():
                        pipe.set(self.key(slug), _to_json(value), px=max(int(ttl * 1000), 1))
                await pipe.execute()

        await redis.call("lookup cache", store)

    def catalogue_changed(self, version: int) -> None:
        """Move to `version`: the shared level's older entries are never read again, the
        in-process levels are emptied, and a read still in flight is not stored."""
        self.version = version
        self.generation += 1
        self.local.clear()
        self.negative.clear()

    async def invalidate(self, slugs: Iterable[str]) -> None:
        keys = [self.key(slug) for slug in slugs]
        if not keys:
            return
        for key in keys:
            self.local.delete(key)
            self.negative.delete(key)
        redis = self.redis
        if redis is not None:
            # Always tried (not only when usable): a stale shared entry outlives this process.
            await redis.call_now("lookup cache", lambda: redis.client.delete(*keys))

    async def redis_reachable(self) -> bool | None:
        """None without Redis; otherwise whether it answers PING now."""
        redis = self.redis
        if redis is None:
            return None
        return await redis.call_now("lookup cache", lambda: redis.client.ping()) is not FAILED

    async def close(self) -> None:
        if self.redis is not None and self._owns_redis:
            await self.redis.close()

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
            pairs = [(self.key(s), v) for s, v in group.items()]
            # One level per answer: a slug that now exists is no longer unknown, and the other
            # way round.
            found = not isinstance(next(iter(group.values())), _NotFound)
            level, other = (self.local, self.negative) if found else (self.negative, self.local)
            level.set_many(pairs, ttl)
            for key, _ in pairs:
                other.delete(key)
