"""The circuit breaker around the lookup query: a small state machine owned outright.

closed -> open after `fail_max` consecutive infrastructure failures; open refuses every call
without running it until `reset_timeout` has passed; then exactly one trial call goes through
(half-open) while every other caller is refused: a recovering database does not take the whole
backlog at once. The trial's success closes the breaker; its failure opens it again.

Errors that are not infrastructure failures (`is_failure` false: a bad query, say) pass through
and count as the database answering. One breaker per process, in memory; the clock is
monotonic, so wall-clock changes cannot open or close it.

The same state machine, opened by a single failure, is the guard in front of Redis
(loaders/redis_guard.py).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half-open"


class BreakerOpen(Exception):
    """The breaker refused the call without running it (open, or a trial already in flight),
    or the call's failure has just opened it (then the failure is the `__cause__`)."""


class LookupBreaker:
    def __init__(
        self,
        *,
        fail_max: int,
        reset_timeout: float,
        is_failure: Callable[[BaseException], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if fail_max < 1:
            raise ValueError("fail_max must be at least 1")
        self.fail_max = fail_max
        self.reset_timeout = reset_timeout
        self._is_failure = is_failure
        self._clock = clock
        self._opened_at: float | None = None  # None while closed
        self._trial_in_flight = False
        self.fail_counter = 0  # consecutive failures

    @property
    def state(self) -> str:
        """ "closed", "open" or "half-open" (open with its reset timeout elapsed counts as
        half-open: the next call is the trial)."""
        if self._opened_at is None:
            return CLOSED
        if self._trial_in_flight or self._reset_due():
            return HALF_OPEN
        return OPEN

    async def call(self, func: Callable[[], Awaitable[T]]) -> T:
        """Run `func` under the breaker; raise `BreakerOpen` when it may not run now."""
        if self._opened_at is None:
            return await self._run(func)
        if self._trial_in_flight:
            raise BreakerOpen("circuit breaker half-open: a trial call is already in flight")
        if not self._reset_due():
            raise BreakerOpen("circuit breaker open")
        self._trial_in_flight = True
        try:
            return await self._run(func)
        finally:
            self._trial_in_flight = False

    async def _run(self, func: Callable[[], Awaitable[T]]) -> T:
        try:
            result = await func()
        except BaseException as exc:
            if not isinstance(exc, Exception) or not self._is_failure(exc):
                if isinstance(exc, Exception):
                    self._close()  # the database answered, if with an error of ours
                raise
            self.fail_counter += 1
            if self._opened_at is not None or self.fail_counter >= self.fail_max:
                self._opened_at = self._clock()
                raise BreakerOpen("circuit breaker opened by repeated failures") from exc
            raise
        self._close()
        return result

    def _close(self) -> None:
        self._opened_at = None
        self.fail_counter = 0

    def _reset_due(self) -> bool:
        return self._opened_at is not None and self._clock() - self._opened_at >= self.reset_timeout
