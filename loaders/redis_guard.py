"""The process's one Redis client (redis.asyncio), behind one skip-after-failure guard.

Everything that keeps something in Redis (the lookup cache, the response cache, persisted
queries, rate limits) calls it through `SharedRedis.call`. Redis is never the store of record
here, so a call that fails or outlasts the timeout is logged and reported as `FAILED`, never
raised; the failure then opens the guard (the circuit breaker of loaders/breaker.py, opened by
a single failure) and every user skips Redis together for `REDIS_RETRY_AFTER` seconds: an
outage costs one timeout, not one per request. After that one trial call goes through while
the others still skip it; its success closes the guard.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from redis.asyncio import Redis

from config import Settings
from loaders.breaker import CLOSED, OPEN, BreakerOpen, LookupBreaker

log = logging.getLogger(__name__)

T = TypeVar("T")


class Failed(enum.Enum):
    FAILED = "failed"  # what a call returns when Redis did not answer in time


FAILED: Final = Failed.FAILED
REDIS_RETRY_AFTER = 5.0  # seconds Redis is skipped after a failure


def _any_failure(exc: BaseException) -> bool:
    return True  # a wrong reply is as much Redis trouble as a refused connection


class SharedRedis:
    def __init__(
        self,
        client: Redis,
        *,
        timeout: float,
        retry_after: float = REDIS_RETRY_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.timeout = timeout
        self.retry_after = retry_after
        self.errors = 0
        self._guard = LookupBreaker(
            fail_max=1, reset_timeout=retry_after, is_failure=_any_failure, clock=clock
        )

    @classmethod
    def from_url(
        cls,
        url: str,
        timeout: float,
        *,
        retry_after: float = REDIS_RETRY_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> SharedRedis:
        """A client for `url` whose every connect and read is bounded by `timeout` seconds."""
        client = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        return cls(client, timeout=timeout, retry_after=retry_after, clock=clock)

    @classmethod
    def from_settings(cls, settings: Settings, timeout: float | None = None) -> SharedRedis | None:
        """The client `REDIS_URL` names (None without it), bounded by `CACHE_REDIS_TIMEOUT_MS`
        unless `timeout` says otherwise."""
        if not settings.redis_url:
            return None
        if timeout is None:
            timeout = settings.cache_redis_timeout_ms / 1000.0
        return cls.from_url(settings.redis_url, timeout)

    @property
    def usable(self) -> bool:
        """False while Redis is skipped after a failure."""
        return self._guard.state != OPEN

    @property
    def healthy(self) -> bool:
        """True while calls go to Redis: no failure since the last success."""
        return self._guard.state == CLOSED

    async def call(self, what: str, operation: Callable[[], Awaitable[T]]) -> T | Failed:
        """`operation`'s result, or FAILED when Redis is skipped, fails or is too slow."""
        try:
            return await self._guard.call(lambda: self._bounded(operation))
        except BreakerOpen as exc:
            if exc.__cause__ is not None:  # this call failed, and opened the guard
                self._failed(what, exc.__cause__)
            return FAILED

    async def call_now(self, what: str, operation: Callable[[], Awaitable[T]]) -> T | Failed:
        """As `call`, but tried even while Redis is skipped (an invalidation, a health probe);
        its outcome leaves the guard as it is."""
        try:
            return await self._bounded(operation)
        except Exception as exc:  # Redis trouble of any kind must never fail a request
            self._failed(what, exc)
            return FAILED

    async def close(self) -> None:
        await self.client.aclose()

    async def _bounded(self, operation: Callable[[], Awaitable[T]]) -> T:
        # The socket timeouts bound each read; this bounds the whole call (connect included).
        async with asyncio.timeout(self.timeout):
            return await operation()

    def _failed(self, what: str, exc: BaseException) -> None:
        self.errors += 1
        log.warning(
            "Redis failed for the %s (%s: %s); Redis skipped for %.0f s",
            what,
            type(exc).__name__,
            exc,
            self.retry_after,
        )
