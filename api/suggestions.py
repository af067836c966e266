"""The periodic refresh of the suggestion rollups (related and popular services)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from config import Settings
from db.errors import is_transient
from db.pool import Connection
from db.suggestions import FULL_DAYS, RefreshCounts, last_days_start, refresh_suggestions

log = logging.getLogger("jobwizard.suggestions")


async def refresh_now(conn: Connection, settings: Settings, *, full: bool) -> RefreshCounts:
    """One refresh with the configured window and support (the CLI's and the timer's)."""
    return await refresh_suggestions(
        conn,
        window_days=settings.suggestions_window_days,
        min_support=settings.suggestions_min_support,
        lookback_days=settings.suggestions_lookback_days,
        popularity_from=last_days_start(FULL_DAYS) if full else None,
    )


class SuggestionRefresher:
    """Refreshes every `suggestions_refresh_seconds` (the first time one interval after start:
    a deploy runs `refresh-suggestions` itself). Each worker process runs one; the refresh
    functions take an advisory lock, so concurrent ones queue instead of clashing. A failing
    database is logged and tried again at the next tick; requests keep reading the last rollup."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings) -> None:
        self._pool = pool
        self._settings = settings
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._settings.suggestions_refresh_seconds > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._settings.suggestions_refresh_seconds)
            try:
                async with self._pool.acquire() as conn:
                    counts = await refresh_now(conn, self._settings, full=False)
                log.info(
                    "suggestions refreshed: %d service pairs, %d popularity rows recounted",
                    counts.pairs,
                    counts.popularity_rows,
                )
            except Exception as exc:
                if not is_transient(exc):
                    log.exception("suggestions refresh failed")
                else:
                    log.warning("suggestions refresh skipped, database unavailable: %r", exc)
