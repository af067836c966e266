"""Waiting for something to become true, bounded: tests poll a condition instead of sleeping a
fixed time and hoping it was long enough. The timeout only bounds a failing test; a passing one
returns as soon as the condition holds."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

Predicate = Callable[[], bool | Awaitable[bool]]


async def eventually(
    predicate: Predicate,
    *,
    timeout: float = 10.0,  # noqa: ASYNC109  # the bound fails the test; it cancels nothing
    interval: float = 0.01,
    what: str = "",
) -> None:
    """Return once `predicate()` (sync or async) is true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"not true within {timeout:g} s: {what or predicate!r}")
        await asyncio.sleep(interval)


def eventually_sync(
    predicate: Callable[[], bool], *, timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> None:
    """`eventually` for code outside an event loop (a subprocess being waited on)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"not true within {timeout:g} s: {what or predicate!r}")
        time.sleep(interval)
