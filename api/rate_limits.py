"""Rate limits: a budget of lookups per minute (a moving window, from the `limits` library) per
API key, and per client IP for calls without a valid key; over it, HTTP 429 with `Retry-After`
and the IETF `RateLimit` / `RateLimit-Policy` headers, the body still GraphQL JSON.

A request costs what it asks for: one per root field (aliases count one each), one per slug of
a `microServices(slugs:)` list. Presented tokens that turn out not to be keys are counted per
client IP on a budget of their own, checked before the key is looked up: a flood of random
tokens becomes 429s, not database queries.

The counters live in memory (per worker), or in Redis when `REDIS_URL` is set so that every
worker and host shares them. A Redis failure lets the request through (logged): the limits
protect the service, and must not become the outage themselves.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.requests import Request

from config import Settings
from context import Context
from domain.errors import DomainError

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60
_T = TypeVar("_T")
_D = TypeVar("_D")


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    policy: str  # the name of the budget: "key", "anonymous" or "auth-failures"
    limit: int
    remaining: int
    reset_seconds: int  # until the oldest counted unit leaves the window

    def headers(self) -> dict[str, str]:
        """`RateLimit-Policy` / `RateLimit` (draft-ietf-httpapi-ratelimit-headers), and
        `Retry-After` when refused."""
        headers = {
            "RateLimit-Policy": f'"{self.policy}";q={self.limit};w={WINDOW_SECONDS}',
            "RateLimit": f'"{self.policy}";r={max(self.remaining, 0)};t={self.reset_seconds}',
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(self.reset_seconds, 1))
        return headers


class RateLimits:
    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        self.enabled = settings.rate_limits
        if storage is None:
            storage = (
                RedisStorage(
                    "async+" + settings.redis_url,
                    implementation="redispy",
                    key_prefix=settings.rate_limit_prefix,
                    socket_timeout=settings.cache_redis_timeout_ms / 1000.0,
                    socket_connect_timeout=settings.cache_redis_timeout_ms / 1000.0,
                )
                if settings.redis_url
                else MemoryStorage()
            )
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)
        # Redis is bounded like the cache's Redis level; memory needs no deadline (no I/O).
        self._timeout = (
            settings.cache_redis_timeout_ms / 1000.0 * 2
            if isinstance(storage, RedisStorage)
            else None
        )
        self.anonymous = RateLimitItemPerMinute(settings.rate_limit_anonymous)
        self.per_key = settings.rate_limit_per_key
        self.auth_failures = RateLimitItemPerMinute(settings.rate_limit_auth_failures)
        self._skip_until = 0.0

    def for_key(self, rate_per_minute: int | None) -> RateLimitItem:
        return RateLimitItemPerMinute(rate_per_minute or self.per_key)

    async def auth_allowed(self, client: str) -> Decision:
        """Whether `client` may still present an unknown token (nothing is counted)."""
        item = self.auth_failures
        allowed = await self._call(self._limiter.test(item, "auth", client), default=True)
        if allowed:
            return Decision(True, "auth-failures", item.amount, item.amount, WINDOW_SECONDS)
        return await self._decision(False, "auth-failures", item, "auth", client)

    async def auth_failed(self, client: str) -> None:
        await self._call(self._limiter.hit(self.auth_failures, "auth", client), default=True)

    async def hit(self, item: RateLimitItem, identity: str, cost: int, policy: str) -> Decision:
        """Count `cost` units against `identity`'s budget, or refuse them all."""
        cost = max(cost, 1)
        if cost > item.amount:
            # Never fits: refused without touching the counters.
            return Decision(False, policy, item.amount, item.amount, WINDOW_SECONDS)
        allowed = await self._call(
            self._limiter.hit(item, "lookups", identity, cost=cost), default=True
        )
        return await self._decision(bool(allowed), policy, item, "lookups", identity)

    async def close(self) -> None:
        if isinstance(self._storage, MemoryStorage):
            timer = self._storage.timer
            if timer is not None and not timer.done():
                timer.cancel()  # the storage's expiry task: not left pending at shutdown
            return
        client = getattr(getattr(self._storage, "bridge", None), "storage", None)
        if client is not None:
            await client.aclose()

    async def _decision(
        self, allowed: bool, policy: str, item: RateLimitItem, *identifiers: str
    ) -> Decision:
        stats = await self._call(self._limiter.get_window_stats(item, *identifiers), default=None)
        if stats is None:
            return Decision(allowed, policy, item.amount, item.amount, WINDOW_SECONDS)
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        return Decision(allowed, policy, item.amount, stats.remaining, reset)

    async def _call(self, call: Coroutine[Any, Any, _T], *, default: _D) -> _T | _D:
        """Await a storage operation; on failure (Redis down or slow) log, skip the storage for
        a while and return `default`."""
        if time.monotonic() < self._skip_until:
            call.close()  # never awaited: closed, so that Python does not warn about it
            return default
        try:
            async with asyncio.timeout(self._timeout):
                return await call
        except Exception as exc:
            log.warning("rate-limit storage failed (%r); requests pass unlimited for 5 s", exc)
            self._skip_until = time.monotonic() + 5.0
            return default


async def check_rate_limit(
    limits: RateLimits, request: Request, context: Context, cost: int
) -> Decision:
    """Count this request against its caller's budget: its key's when it presents a valid
    one, else its client IP's."""
    client = request.client.host if request.client is not None else "unknown"
    auth = context.auth
    if auth.presented:
        # A key the process's key cache knows as valid costs no query and skips the bad-token
        # gate (so junk tokens from an address do not lock out a real key behind it); a
        # revocation drops it from that cache in every process.
        caller = auth.remembered()
        if caller is None:
            # The gate holds back floods of unknown tokens; a key verified before (its verdict
            # expired) goes through it, or junk from its address would lock it out.
            if not auth.vouched():
                gate = await limits.auth_allowed(client)
                if not gate.allowed:
                    return gate
            try:
                caller = await auth.caller()
            except DomainError:
                caller = None  # keys cannot be checked now; the fields that need one will say so
            else:
                if caller is None:
                    await limits.auth_failed(client)
        if caller is not None:
            return await limits.hit(
                limits.for_key(caller.rate_per_minute), f"key:{caller.id}", cost, "key"
            )
    return await limits.hit(limits.anonymous, f"ip:{client}", cost, "anonymous")
