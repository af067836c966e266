"""`Periodic`: named tasks run every N seconds while the app runs, stopped with it.

A failing run is logged (a database that is away as a warning, anything else with its
traceback) and the task runs again at its next interval: periodic work is never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from types import TracebackType

from db.errors import is_transient

log = logging.getLogger("jobwizard.periodic")


@dataclass(frozen=True, slots=True)
class PeriodicTask:
    name: str
    every: float  # seconds between the end of one run and the start of the next
    run: Callable[[], Awaitable[object]]
    # Run once at start rather than one interval after it (work a deploy does not do itself).
    at_start: bool = False

    def __post_init__(self) -> None:
        if self.every <= 0:
            raise ValueError(f"periodic task {self.name!r}: the interval must be positive")


class Periodic:
    """An async context manager: entering starts one asyncio task per `PeriodicTask`, leaving
    cancels them and waits for them to end."""

    def __init__(self, tasks: Iterable[PeriodicTask]) -> None:
        self.tasks = tuple(tasks)
        self._running: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Periodic:
        self._running = [
            asyncio.create_task(self._loop(task), name=f"periodic-{task.name}")
            for task in self.tasks
        ]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        running, self._running = self._running, []
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self, task: PeriodicTask) -> None:
        if not task.at_start:
            await asyncio.sleep(task.every)
        while True:
            await run_once(task)
            await asyncio.sleep(task.every)


async def run_once(task: PeriodicTask) -> bool:
    """One run of `task`, its failure logged; True when it succeeded."""
    try:
        await task.run()
    except Exception as exc:  # logged, and tried again at the next interval
        if is_transient(exc):
            log.warning("%s skipped, database unavailable: %r", task.name, exc)
        else:
            log.exception("%s failed", task.name)
        return False
    return True
