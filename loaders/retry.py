"""Bounded retries of transient lookup failures (tenacity).

A fresh `AsyncRetrying` per call: its retry state lives on the object, so one shared between
concurrent calls would mix their attempt counts and timers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """At most `attempts` tries; no new try (or wait) that would start past `budget` seconds
    from the first. Waits are exponential with full jitter, so a fleet of workers that failed
    together does not retry together."""

    attempts: int
    budget: float

    def retrying(self, retry_on: Callable[[BaseException], bool]) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(self.attempts) | stop_before_delay(self.budget),
            wait=wait_random_exponential(multiplier=self.budget / 8, max=self.budget / 2),
            retry=retry_if_exception(retry_on),
            before_sleep=_log_retry,
            reraise=True,
        )

    async def call(
        self, func: Callable[[], Awaitable[T]], *, retry_on: Callable[[BaseException], bool]
    ) -> T:
        """`await func()`, retried while `retry_on(error)`; the last error is re-raised."""
        async for attempt in self.retrying(retry_on):
            with attempt:
                return await func()
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    log.info(
        "lookup attempt %d failed (%s); retrying in %.0f ms",
        state.attempt_number,
        type(error).__name__,
        (state.upcoming_sleep or 0.0) * 1000,
    )
