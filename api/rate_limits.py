"""Rate limits: a budget of lookups per minute per API key, per signed-in customer, and per
client IP for calls with neither; over it, HTTP 429 with `Retry-After` and the IETF `RateLimit` /
`RateLimit-Policy` headers, the body still GraphQL JSON.

A request costs what it asks for: one per root field (aliases count one each), one per slug of
a `microServices(slugs:)` list. Presented tokens that turn out not to be keys are counted per
client IP on a budget of their own, checked before the key is looked up: a flood of random
tokens becomes 429s, not database queries. A customer's token (a JWT) is checked without a query,
so it skips that gate; a token that is refused leaves the request anonymous, on its IP's budget.
A customer is counted under a hash of (issuer, subject), never the subject itself.

The window slides: `limits`' sliding window counter weighs the previous minute's count by the
share of it still inside the last 60 s and adds the current minute's. Its cost per request is two
counters whatever the budget, where a moving window keeps one entry per counted lookup (a key
with a large budget held a list that long, shifted on every request).

Far from the end of a budget, a process counts on its own: it reads the shared counters, then
counts up to a tenth of what was left by itself for `RATE_LIMIT_SYNC_SECONDS` (a tenth of a
second by default), and writes what it counted with its next reading. A request then costs a
few additions, and Redis one round trip per budget per interval rather than two per request.
Near the end of a budget that share is nothing, so every request is counted on the shared
counters as it comes, exactly; and a request that a reading of the last interval says does not
fit is refused without asking them, so a caller flooding past its budget costs the counters
nothing.

The counters live in memory (per worker), or in Redis when `REDIS_URL` is set so that every
worker and host shares them: `limits`' Redis storage on redis-py, over the process's shared
connection pool and behind its guard (loaders/redis_guard.py). While Redis is down or stalled
(a call failed and the guard skips it) the counters fall back to process memory, so the limits
still hold, per worker, instead of vanishing with Redis; the first call the guard lets through
again takes them back to Redis. `storage` says which one counts now (shown on `/health`).

Which budget a request is counted against, and the gate in front of presented tokens:
api/rate_limit_callers.py.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from limits import RateLimitItem, RateLimitItemPerMinute, WindowStats
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from config import Settings
from loaders.redis_guard import FAILED, SharedRedis

WINDOW_SECONDS = 60
# Counting in process between readings of the shared counters: a reading is trusted for
# RATE_LIMIT_SYNC_SECONDS, and a process may count on its own this share of what was left
# (1 / LOCAL_SHARE of it), so that up to LOCAL_SHARE processes drawing on one budget at once
# never pass it together, and a budget close to its end is counted exactly, request by request.
LOCAL_SHARE = 10
MAX_TALLIES = 100_000
_T = TypeVar("_T")


@dataclass(slots=True)
class Decision:
    # Not frozen: one is built for every request, and a frozen dataclass sets each field
    # through object.__setattr__.
    allowed: bool
    policy: str  # the name of the budget: "key", "customer", "anonymous" or "auth-failures"
    limit: int
    remaining: int
    reset_seconds: int  # until the oldest counted unit leaves the window

    def headers(self) -> dict[str, str]:
        """`RateLimit-Policy` / `RateLimit` (draft-ietf-httpapi-ratelimit-headers), and
        `Retry-After` when refused."""
        headers = {
            "RateLimit-Policy": _policy_value(self.policy, self.limit),
            "RateLimit": self._state(),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(self.reset_seconds, 1))
        return headers

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The headers of an allowed request, encoded, to append to a response's header list."""
        return _raw_headers(self.policy, self.limit, self.remaining, self.reset_seconds)

    def _state(self) -> str:
        return _state(self.policy, self.remaining, self.reset_seconds)


def _state(policy: str, remaining: int, reset_seconds: int) -> str:
    return f'"{policy}";r={remaining if remaining > 0 else 0};t={reset_seconds}'


def _raw_headers(
    policy: str, limit: int, remaining: int, reset_seconds: int
) -> list[tuple[bytes, bytes]]:
    return [
        _policy_header(policy, limit),
        (b"ratelimit", _state(policy, remaining, reset_seconds).encode()),
    ]


def _policy_value(policy: str, limit: int) -> str:
    return f'"{policy}";q={limit};w={WINDOW_SECONDS}'


@functools.lru_cache(maxsize=1024)
def _policy_header(policy: str, limit: int) -> tuple[bytes, bytes]:
    """`RateLimit-Policy`, encoded: the same for every request of a budget."""
    return (b"ratelimit-policy", _policy_value(policy, limit).encode())


class RateLimits:
    def __init__(
        self,
        settings: Settings,
        storage: Storage | None = None,
        *,
        redis: SharedRedis | None = None,
    ) -> None:
        """Counters in `storage` when given; else in Redis with `REDIS_URL` (through `redis`,
        the process's shared client, when given one), else in memory."""
        self.enabled = settings.rate_limits
        self.sync_seconds = settings.rate_limit_sync_seconds
        self._owns_redis = redis is None
        if storage is None and redis is None:
            redis = SharedRedis.from_settings(settings)
        # Always there: the counters while Redis cannot keep them, or the only ones.
        self._memory = MemoryStorage()
        self._fallback = SlidingWindowCounterRateLimiter(self._memory)
        if storage is None and redis is not None:
            storage = RedisStorage(
                "async+" + (settings.redis_url or "redis://"),
                implementation="redispy",
                key_prefix=settings.rate_limit_prefix,
                # A documented parameter that limits' option types leave out.
                connection_pool=redis.client.connection_pool,  # type: ignore[arg-type]
            )
        self._storage = storage
        self._redis = redis if isinstance(storage, RedisStorage) else None
        self._limiter = (
            self._fallback if storage is None else SlidingWindowCounterRateLimiter(storage)
        )
        self.anonymous = RateLimitItemPerMinute(settings.rate_limit_anonymous)
        self.per_key = settings.rate_limit_per_key
        self.per_customer = RateLimitItemPerMinute(settings.rate_limit_per_customer)
        self.auth_failures = RateLimitItemPerMinute(settings.rate_limit_auth_failures)
        # Per budget (identity, size), in the order they were last read: bounded, since every
        # client address has one; the longest unread goes first.
        self._tallies: dict[tuple[str, int], _Tally] = {}

    @property
    def storage(self) -> Literal["redis", "memory"]:
        """Where requests are counted now: "memory" without Redis, and while Redis is skipped
        after a failure (until a call succeeds there again)."""
        if self._redis is None or not self._redis.healthy:
            return "memory"
        return "redis"

    def for_key(self, rate_per_minute: int | None) -> RateLimitItem:
        return _per_minute(rate_per_minute or self.per_key)

    async def auth_allowed(self, client: str) -> Decision:
        """Whether `client` may still present an unknown token (nothing is counted)."""
        item = self.auth_failures
        allowed = await self._call(lambda limiter: limiter.test(item, "auth", client))
        if allowed:
            return Decision(True, "auth-failures", item.amount, item.amount, WINDOW_SECONDS)
        return await self._decision(False, "auth-failures", item, "auth", client)

    async def auth_failed(self, client: str) -> None:
        await self._call(lambda limiter: limiter.hit(self.auth_failures, "auth", client))

    async def hit(self, item: RateLimitItem, identity: str, cost: int, policy: str) -> Decision:
        """Count `cost` units against `identity`'s budget, or refuse them all."""
        cost = max(cost, 1)
        decided = self.hit_here(item, identity, cost, policy)
        if decided is not None:
            return decided
        key = (identity, item.amount)
        return await self._counted(key, self._tallies.get(key), item, cost, policy)

    def admitted_here(
        self, item: RateLimitItem, identity: str, cost: int, policy: str
    ) -> list[tuple[bytes, bytes]] | None:
        """The common answer of `hit_here`, for a `cost` of at least one: counted in the room
        a recent reading left here, and the allowed request's headers, encoded. None: ask
        `hit_here`. Every request of a busy caller passes here, so it builds no `Decision`."""
        tally = self._tallies.get((identity, item.amount))
        if tally is None or tally.used + cost > tally.room:
            return None
        if not tally.syncing and time.monotonic() >= tally.fresh_until:
            return None
        tally.used += cost
        return tally.allowed_headers(policy, item.amount)

    def hit_here(
        self, item: RateLimitItem, identity: str, cost: int, policy: str
    ) -> Decision | None:
        """`hit` (for a `cost` of at least one) when this process decides alone, without a
        wait: the cost never fits, fits in the room a recent reading left here, or a recent
        reading says it does not fit. None when the shared counters must be asked."""
        if cost > item.amount:
            # Never fits: refused without touching the counters.
            return Decision(False, policy, item.amount, item.amount, WINDOW_SECONDS)
        tally = self._tallies.get((identity, item.amount))
        if tally is None:
            return None
        now = time.monotonic()
        if tally.admits(cost, now):
            tally.used += cost
            return tally.decision(True, policy, item)
        if tally.refuses(cost, now):
            # Over the budget by a recent reading: refused here, so that a caller flooding
            # past its budget costs neither the shared counters nor Redis anything.
            return tally.decision(False, policy, item)
        return None

    async def _counted(
        self,
        key: tuple[str, int],
        tally: _Tally | None,
        item: RateLimitItem,
        cost: int,
        policy: str,
    ) -> Decision:
        """Count on the shared counters: what this process counted on its own since it last
        read them, then this request's units, then read them again."""
        identity = key[0]
        owner = tally is not None and not tally.syncing
        used = 0
        if tally is not None and owner:
            used, tally.used, tally.syncing = tally.used, 0, True
        try:
            if used:
                # Served already: counted if they still fit, which the room they were taken
                # from makes all but certain.
                await self._call(lambda limiter: limiter.hit(item, "lookups", identity, cost=used))
            allowed = await self._call(
                lambda limiter: limiter.hit(item, "lookups", identity, cost=cost)
            )
            stats = await self._stats(item, "lookups", identity)
        finally:
            if tally is not None and owner:
                tally.syncing = False
        fresh = _Tally(
            remaining=stats.remaining,
            reset_at=stats.reset_time,
            room=stats.remaining // LOCAL_SHARE,
            fresh_until=time.monotonic() + self.sync_seconds,
        )
        if tally is not None and owner:
            fresh.used = tally.used  # counted here while the shared counters were read
        if tally is None or owner:
            tallies = self._tallies
            tallies.pop(key, None)
            if len(tallies) >= MAX_TALLIES:
                del tallies[next(iter(tallies))]
            tallies[key] = fresh
        return _decided(allowed, policy, item, stats)

    async def close(self) -> None:
        for storage in (self._memory, self._storage):
            timer = storage.timer if isinstance(storage, MemoryStorage) else None
            if timer is not None and not timer.done():
                timer.cancel()  # a memory storage's expiry task: not left pending at shutdown
        if self._redis is not None and self._owns_redis:
            await self._redis.close()

    async def _decision(
        self, allowed: bool, policy: str, item: RateLimitItem, *identifiers: str
    ) -> Decision:
        return _decided(allowed, policy, item, await self._stats(item, *identifiers))

    async def _stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        return await self._call(lambda limiter: limiter.get_window_stats(item, *identifiers))

    async def _call(self, call: Callable[[SlidingWindowCounterRateLimiter], Awaitable[_T]]) -> _T:
        """A limiter operation on Redis, or on the in-memory counters when there is no Redis
        or it is skipped, fails or is slow."""
        if self._redis is None:
            return await call(self._limiter)
        result = await self._redis.call("rate limits", lambda: call(self._limiter))
        return await call(self._fallback) if result is FAILED else result


@functools.lru_cache(maxsize=1024)
def _per_minute(amount: int) -> RateLimitItem:
    return RateLimitItemPerMinute(amount)


def _decided(allowed: bool, policy: str, item: RateLimitItem, stats: WindowStats) -> Decision:
    reset = max(0, math.ceil(stats.reset_time - time.time()))
    return Decision(allowed, policy, item.amount, stats.remaining, reset)


@dataclass(slots=True)
class _Tally:
    """One budget as this process last read it from the shared counters, and what it has
    counted against it on its own since."""

    remaining: int  # left in the window when read
    reset_at: float  # wall-clock time the next counted unit leaves the window
    room: int  # what this process may count on its own before it reads again
    fresh_until: float  # monotonic: the reading is trusted until then
    used: int = 0  # counted here since, not yet on the shared counters
    syncing: bool = False  # a request is writing `used` and reading the counters now

    def admits(self, cost: int, now: float) -> bool:
        """Whether `cost` may be counted here alone: the reading is recent (or being renewed)
        and the room left holds it."""
        fresh = self.syncing or now < self.fresh_until
        return fresh and self.used + cost <= self.room

    def decision(self, allowed: bool, policy: str, item: RateLimitItem) -> Decision:
        """The decision this reading gives, with what it leaves after what was counted here."""
        reset = max(0, math.ceil(self.reset_at - time.time()))
        left = max(self.remaining - self.used, 0)
        return Decision(allowed, policy, item.amount, left, reset)

    def allowed_headers(self, policy: str, limit: int) -> list[tuple[bytes, bytes]]:
        """`decision(True, ...).raw_headers()`, without the decision."""
        reset = math.ceil(self.reset_at - time.time())
        return _raw_headers(policy, limit, self.remaining - self.used, reset if reset > 0 else 0)

    def refuses(self, cost: int, now: float) -> bool:
        """Whether `cost` does not fit in what a recent reading left (less what was counted
        here since): refused without asking the shared counters again."""
        return now < self.fresh_until and self.remaining - self.used < cost
