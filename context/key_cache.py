"""API keys verified without a query per request: a per-process cache of verdicts by key hash.

A verified key is trusted for a short time (`API_KEY_CACHE_TTL_SECONDS`), an unknown hash is
remembered as unknown for a short time (`API_KEY_NEGATIVE_TTL_SECONDS`), both bounded in
entries, so a flood of random keys costs no query per request. A revocation (or any change to a
key) reaches every process as a notice on the invalidation channel and drops that hash at once.
The cache is only trusted while the process is listening: with the listener down (`live` False)
every request checks the database, as if there were no cache.

Apart from the verdicts, the cache remembers which hashes were verified as keys at all (bounded,
forgotten on a drop). That memory authorizes nothing: it only tells the rate limiter's gate
against floods of unknown tokens that a key whose verdict has expired is worth one query to
verify again, rather than be refused with the flood.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress

from cachetools import LRUCache

from domain.api_keys import ApiKey
from loaders.cache import MemoryLevel


class KeyCache:
    def __init__(
        self,
        *,
        ttl: float,
        negative_ttl: float,
        max_entries: int,
        live: Callable[[], bool] = lambda: False,
    ) -> None:
        self._live = live
        # Each verdict carries its expiry, checked when read (the lookup cache's level): every
        # request with a key reads here, and cachetools' TTLCache runs its timer and its walk
        # over expired entries on every access.
        self._ttl, self._negative_ttl = ttl, negative_ttl
        self._known = MemoryLevel(max_entries=max_entries) if ttl > 0 else None
        self._unknown = MemoryLevel(max_entries=max_entries) if negative_ttl > 0 else None
        # Hashes verified as keys since they were last dropped, however long ago.
        self._vouched: LRUCache[str, bool] = LRUCache(max_entries)
        # Bumped by every drop: a verdict fetched before a drop must not be stored after it.
        self.generation = 0
        # Told when their key's verdict is dropped (or every verdict is): long-lived users of
        # a key, such as a WebSocket, check it again then rather than trust it for their life.
        self._watchers: dict[str, set[Callable[[], None]]] = {}

    def watch(self, key_sha256: str, on_drop: Callable[[], None]) -> Callable[[], None]:
        """Call `on_drop` whenever this hash is dropped or the cache cleared; returns the
        function that stops it."""
        self._watchers.setdefault(key_sha256, set()).add(on_drop)

        def unwatch() -> None:
            watchers = self._watchers.get(key_sha256)
            if watchers is not None:
                watchers.discard(on_drop)
                if not watchers:
                    del self._watchers[key_sha256]

        return unwatch

    def _tell(self, watchers: list[Callable[[], None]]) -> None:
        for on_drop in watchers:
            with suppress(Exception):  # a watcher's fault must not stop the next one hearing
                on_drop()

    def bind(self, live: Callable[[], bool]) -> None:
        """Trust the cache only while `live()` (the invalidation listener is connected)."""
        self._live = live

    def get(self, key_sha256: str) -> ApiKey | bool | None:
        """The cached key, False for a hash remembered as unknown, None when not cached."""
        if not self._live():
            return None
        if self._known is not None:
            key: ApiKey | None = self._known.peek(key_sha256)
            if key is not None:
                return key
        if self._unknown is not None and self._unknown.peek(key_sha256):
            return False
        return None

    def vouched(self, key_sha256: str) -> bool:
        """Whether this hash was verified as a key before (and not dropped since)."""
        return key_sha256 in self._vouched

    def put(self, key_sha256: str, key: ApiKey | None, generation: int) -> None:
        if generation != self.generation:
            return
        if key is not None:
            self._vouched[key_sha256] = True
        if not self._live():
            return
        if key is not None:
            if self._known is not None:
                self._known.set_many(((key_sha256, key),), self._ttl)
        elif self._unknown is not None:
            self._unknown.set_many(((key_sha256, True),), self._negative_ttl)

    def drop(self, key_sha256: str) -> None:
        self.generation += 1
        self._vouched.pop(key_sha256, None)
        if self._known is not None:
            self._known.delete(key_sha256)
        if self._unknown is not None:
            self._unknown.delete(key_sha256)
        self._tell(list(self._watchers.get(key_sha256, ())))

    def clear(self) -> None:
        self.generation += 1
        self._vouched.clear()
        if self._known is not None:
            self._known.clear()
        if self._unknown is not None:
            self._unknown.clear()
        self._tell([w for watchers in self._watchers.values() for w in watchers])
