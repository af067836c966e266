"""The circuit breaker around the lookup query: aiobreaker, plus a single-trial half-open guard.

aiobreaker moves to half-open on the first call after the reset timeout and then lets *every*
concurrent call through, so a recovering database would take the whole backlog at once. The
guard lets exactly one trial call in while the breaker is open-but-due or half-open; every other
caller fails fast with `BreakerOpen` until that trial has closed (or re-opened) the breaker.

One breaker per process, in memory: see the README ("Why a breaker per process").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from aiobreaker import CircuitBreaker, CircuitBreakerError, CircuitBreakerState

T = TypeVar("T")

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half-open"


class BreakerOpen(Exception):
    """The breaker refused the call without running it (open, or a trial already in flight)."""


class LookupBreaker:
    def __init__(
        self,
        *,
        fail_max: int = 5,
        reset_timeout: float = 30.0,
        is_failure: Callable[[BaseException], bool] = lambda exc: True,
    ) -> None:
        # Errors that are not infrastructure failures (a bad query, say) must not trip it.
        self._breaker = CircuitBreaker(
            fail_max=fail_max,
            timeout_duration=timedelta(seconds=reset_timeout),
            exclude=[lambda exc: not is_failure(exc)],
        )
        self._trial_in_flight = False

    @property
    def state(self) -> str:
        """ "closed", "open" or "half-open" (open with its reset timeout elapsed counts as
        half-open: the next call is the trial)."""
        current = self._breaker.current_state
        if current is CircuitBreakerState.CLOSED:
            return CLOSED
        if current is CircuitBreakerState.HALF_OPEN or self._reset_due():
            return HALF_OPEN
        return OPEN

    @property
    def fail_counter(self) -> int:
        counter: int = self._breaker.fail_counter
        return counter

    async def call(self, func: Callable[[], Awaitable[T]]) -> T:
        """Run `func` under the breaker; raise `BreakerOpen` when it may not run now."""
        if self._breaker.current_state is CircuitBreakerState.CLOSED:
            return await self._through(func)
        if self._trial_in_flight:
            raise BreakerOpen("circuit breaker half-open: a trial call is already in flight")
        if not self._reset_due() and self._breaker.current_state is CircuitBreakerState.OPEN:
            raise BreakerOpen("circuit breaker open")
        self._trial_in_flight = True
        try:
            return await self._through(func)
        finally:
            self._trial_in_flight = False

    async def _through(self, func: Callable[[], Awaitable[T]]) -> T:
        try:
            result: T = await self._breaker.call_async(func)
        except CircuitBreakerError as exc:
            # aiobreaker raises this both when refusing and when the failure that trips it
            # happens; either way the breaker is now open.
            raise BreakerOpen(exc.message) from exc.__cause__
        return result

    def _reset_due(self) -> bool:
        # aiobreaker stamps opened_at with utcnow() and compares with utcnow(); so do we.
        opened_at: datetime | None = self._breaker._state_storage.opened_at
        if opened_at is None:
            return True
        due: datetime = opened_at + self._breaker.timeout_duration
        return datetime.utcnow() >= due
