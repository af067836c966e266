"""The whole-response cache: the exact bytes of a cacheable operation's answer.

Which operations are cacheable the schema says (schema/cache_control.py); the verdict for a
document is worked out once (one parse) and kept per (document, operation name). The two memos
(documents -> verdict, request bytes -> where the answer is kept) share one bound in bytes,
`RESPONSE_CACHE_MEMO_MAX_BYTES`, half each: a document is as large as its sender makes it, so a
bound in entries alone bounds nothing. An answer is keyed by the catalogue version, the
catalogue file this process serves the questions from, the document, the operation name and the
variables (canonical JSON), and kept as the response bytes, with any compressed variants made
for it (api/compression.py) beside them.

Levels: an in-process LRU bounded in bytes (cachetools with `getsizeof`), one per class of
answer (catalogue, search, the rest: schema/cache_control.py), each with its share of
`RESPONSE_CACHE_MAX_BYTES`, so that a flood of new searches pushes out only searches; then Redis
with `REDIS_URL` (the process's shared client and its guard: loaders/redis_guard.py), shared by
every worker and host. A new catalogue version makes every old key unreachable at once; the
in-process level is also emptied when the notice arrives, so memory goes to the current
catalogue. The cache is only used while the process is listening for notices (`live`): without
them it cannot know the version is current.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from cachetools import LRUCache
from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse

from api.compression import compress
from config import Settings
from loaders.redis_guard import FAILED, SharedRedis
from schema.cache_control import (
    UNCACHEABLE,
    CacheClass,
    CachePolicy,
    hinted_root_fields,
    operation_policy,
)

_ENTRY_OVERHEAD = 300  # bytes an entry costs beside its bodies (objects, key)
_MEMO_OVERHEAD = 400  # bytes a memo entry costs beside its text (tuples, lookup, slots)
MEMO_MAX_REQUEST_BYTES = 8192  # larger requests are not remembered: a hit saves little on them
_BODY = b"body"
_MAX_AGE = b"max-age"


@dataclass(slots=True)
class CachedAnswer:
    body: bytes
    max_age: int
    encoded: dict[str, bytes] = field(default_factory=dict)

    def size(self) -> int:
        return len(self.body) + sum(map(len, self.encoded.values())) + _ENTRY_OVERHEAD


@dataclass(frozen=True, slots=True)
class _Verdict:
    policy: CachePolicy
    size: int  # what keeping it costs: the document and operation name it is kept under

    @staticmethod
    def of(policy: CachePolicy, query: str, operation_name: str | None) -> _Verdict:
        return _Verdict(policy, sys.getsizeof(query) + len(operation_name or "") + _MEMO_OVERHEAD)

    def measure(self) -> int:
        return self.size


@dataclass(frozen=True, slots=True)
class Lookup:
    """One request's place in the cache: where its answer is kept and the ETag it carries."""

    key: str
    etag: str  # of the plain bytes; an encoded variant appends its encoding
    policy: CachePolicy


class ResponseCache:
    def __init__(
        self,
        *,
        schema: GraphQLSchema,
        max_bytes: int,
        fingerprint: str,
        redis: SharedRedis | None = None,
        owns_redis: bool = False,
        namespace: str = "jobwizard:rc",
        redis_ttl: int = 3600,
        memo_max_bytes: int = 8 * 1024 * 1024,
        search_share: float = 0.5,
        other_share: float = 0.125,
    ) -> None:
        self._schema = schema
        self._roots = tuple(hinted_root_fields(schema))
        shares = {CacheClass.SEARCH: search_share, CacheClass.OTHER: other_share}
        shares[CacheClass.CATALOGUE] = max(0.0, 1.0 - search_share - other_share)
        self._locals: dict[CacheClass, LRUCache[str, CachedAnswer] | None] = {
            kind: _lru(int(max_bytes * share)) for kind, share in shares.items()
        }
        self._policies: LRUCache[tuple[str, str | None], _Verdict] = LRUCache(
            memo_max_bytes // 2, getsizeof=_Verdict.measure
        )
        # Request bytes (a GET's query string, a POST's body) -> where their answer is kept, for
        # the version it was worked out under: a repeated request skips JSON decoding and key
        # hashing. The same bytes always mean the same parameters.
        # A plain dict, emptied when full: cheaper per hit than an LRU's bookkeeping, and the
        # requests that matter come back at once.
        self._requests: dict[tuple[str, bytes], tuple[int, Lookup]] = {}
        self._requests_bytes = 0
        self._requests_max_bytes = memo_max_bytes - memo_max_bytes // 2
        self.fingerprint = fingerprint
        self.version = 0
        self.live: Callable[[], bool] = lambda: False
        self.redis = redis
        self._owns_redis = owns_redis  # closed with the cache only when made for it alone
        self.namespace = namespace
        self.redis_ttl = redis_ttl
        self.hits = 0
        self.misses = 0

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        schema: GraphQLSchema,
        fingerprint: str,
        redis: SharedRedis | None = None,
    ) -> ResponseCache | None:
        """None when `RESPONSE_CACHE` is off; Redis with `REDIS_URL` (the process's shared
        client when given one, else a client of its own)."""
        if not settings.response_cache:
            return None
        owns = redis is None
        if redis is None:
            redis = SharedRedis.from_settings(settings)
        return cls(
            schema=schema,
            max_bytes=settings.response_cache_max_bytes,
            fingerprint=fingerprint,
            redis=redis,
            owns_redis=owns,
            namespace=settings.response_cache_namespace,
            redis_ttl=settings.response_cache_redis_ttl_seconds,
            memo_max_bytes=settings.response_cache_memo_max_bytes,
            search_share=settings.response_cache_search_share,
            other_share=settings.response_cache_other_share,
        )

    # -- which requests -----------------------------------------------------------------------
    def policy(self, query: str, operation_name: str | None) -> CachePolicy | None:
        """The learned verdict for this document and operation; None while unknown."""
        known = self._policies.get((query, operation_name))
        return None if known is None else known.policy

    def learn(
        self,
        query: str,
        operation_name: str | None,
        parse_document: Callable[[str], DocumentNode] = parse,
    ) -> CachePolicy:
        """The verdict for a document, worked out once (a document that does not parse, or
        does not validate, is never cacheable: its answer has errors and is never kept).
        `parse_document` is the request's own parse (the schema's document cache, bounded in
        tokens), so that the document is parsed once for every step."""
        known = self._policies.get((query, operation_name))
        if known is not None:
            return known.policy
        if not any(root in query for root in self._roots):
            return UNCACHEABLE  # not worth a parse, nor a place among the verdicts
        try:
            policy = operation_policy(self._schema, parse_document(query), operation_name)
        except GraphQLError:
            policy = UNCACHEABLE
        verdict = _Verdict.of(policy, query, operation_name)
        # One larger than the whole bound is not kept: worked out again when sent again.
        if verdict.size <= self._policies.maxsize:
            self._policies[query, operation_name] = verdict
        return policy

    def locate(
        self,
        version: int,
        query: str,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
        policy: CachePolicy,
    ) -> Lookup:
        digest = hashlib.sha256()
        for part in (
            str(version).encode(),
            self.fingerprint.encode(),
            (operation_name or "").encode(),
            query.encode(),
            orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS),
        ):
            digest.update(len(part).to_bytes(8, "little"))
            digest.update(part)
        hexdigest = digest.hexdigest()
        return Lookup(
            key=f"{self.namespace}:{hexdigest}",
            etag=f'"c{version}-{hexdigest[:32]}"',
            policy=policy,
        )

    def recall(self, method: str, raw: bytes) -> Lookup | None:
        """Where the answer of these request bytes is kept under the current version."""
        found = self._requests.get((method, raw))
        if found is None or found[0] != self.version:
            return None
        return found[1]

    def remember(self, method: str, raw: bytes, version: int, lookup: Lookup) -> None:
        if len(raw) > MEMO_MAX_REQUEST_BYTES or version != self.version:
            return
        if (method, raw) in self._requests:
            self._requests[method, raw] = (version, lookup)
            return
        size = len(raw) + _MEMO_OVERHEAD
        if self._requests_bytes + size > self._requests_max_bytes:
            self._requests.clear()
            self._requests_bytes = 0
        self._requests[method, raw] = (version, lookup)
        self._requests_bytes += size

    # -- the levels ---------------------------------------------------------------------------
    def get_local(self, key: str, kind: CacheClass = CacheClass.OTHER) -> CachedAnswer | None:
        """The in-process level alone, without a coroutine: the commonest hit."""
        local = self._locals[kind]
        if local is None:
            return None
        entry = local.get(key)
        if entry is not None:
            self.hits += 1
        return entry

    async def get(self, key: str, kind: CacheClass = CacheClass.OTHER) -> CachedAnswer | None:
        local = self._locals[kind]
        if local is not None and (entry := local.get(key)) is not None:
            self.hits += 1
            return entry
        redis = self.redis
        if redis is not None and redis.usable:
            raw = await redis.call("response cache", lambda: _hgetall(redis, key))
            entry = None if raw is FAILED else _from_redis(raw)
            if entry is not None:
                self.hits += 1
                self._keep_local(key, entry, kind)
                return entry
        self.misses += 1
        return None

    async def put(
        self, key: str, body: bytes, max_age: int, kind: CacheClass = CacheClass.OTHER
    ) -> CachedAnswer:
        entry = CachedAnswer(body, max_age)
        self._keep_local(key, entry, kind)
        if self._redis_usable():
            await self._redis_set(key, {_BODY: body, _MAX_AGE: str(max_age).encode()})
        return entry

    async def encoded(
        self, key: str, entry: CachedAnswer, encoding: str, kind: CacheClass = CacheClass.OTHER
    ) -> bytes:
        """`entry`'s bytes in `encoding`, compressed once and kept with it."""
        found = entry.encoded.get(encoding)
        if found is not None:
            return found
        data = compress(entry.body, encoding, keep=True)
        entry.encoded[encoding] = data
        self._keep_local(key, entry, kind)  # re-measured: the entry grew
        if self._redis_usable():
            await self._redis_set(key, {encoding.encode(): data})
        return data

    @property
    def local_bytes(self) -> int:
        return sum(self.class_bytes.values())

    @property
    def class_bytes(self) -> dict[str, int]:
        """What each class keeps in this process, against its own share."""
        return {
            kind.value: 0 if local is None else int(local.currsize)
            for kind, local in self._locals.items()
        }

    @property
    def memo_bytes(self) -> int:
        """What the two memos hold, as counted against `RESPONSE_CACHE_MEMO_MAX_BYTES`."""
        return int(self._policies.currsize) + self._requests_bytes

    def clear_local(self) -> None:
        """The catalogue changed: the in-process level holds only unreachable keys now."""
        for local in self._locals.values():
            if local is not None:
                local.clear()
        self._requests.clear()
        self._requests_bytes = 0

    def clear_policies(self) -> None:
        self._policies.clear()

    async def close(self) -> None:
        if self.redis is not None and self._owns_redis:
            await self.redis.close()

    def _keep_local(self, key: str, entry: CachedAnswer, kind: CacheClass) -> None:
        local = self._locals[kind]
        if local is None:
            return
        try:
            local[key] = entry
        except ValueError:  # larger than the class's whole bound: not kept in this level
            local.pop(key, None)

    def _redis_usable(self) -> bool:
        return self.redis is not None and self.redis.usable

    async def _redis_set(self, key: str, fields: dict[bytes, bytes]) -> None:
        redis = self.redis
        if redis is None:
            return

        async def store() -> None:
            async with redis.client.pipeline(transaction=True) as pipe:
                # redis-py types the mapping's key invariantly; bytes keys are what it sends.
                pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
                pipe.expire(key, self.redis_ttl)
                await pipe.execute()

        await redis.call("response cache", store)


def _lru(max_bytes: int) -> LRUCache[str, CachedAnswer] | None:
    return LRUCache(max_bytes, getsizeof=CachedAnswer.size) if max_bytes > 0 else None


async def _hgetall(redis: SharedRedis, key: str) -> Mapping[bytes, bytes]:
    # Without decode_responses the client answers bytes, which redis-py's types do not say.
    return cast("Mapping[bytes, bytes]", await redis.client.hgetall(key))


def _from_redis(raw: Mapping[bytes, bytes]) -> CachedAnswer | None:
    body, max_age = raw.get(_BODY), raw.get(_MAX_AGE)
    if body is None or max_age is None or not max_age.isdigit():
        return None  # not an entry we wrote (or half of one): a miss
    encoded = {name.decode(): value for name, value in raw.items() if name not in (_BODY, _MAX_AGE)}
    return CachedAnswer(body, int(max_age), encoded)
