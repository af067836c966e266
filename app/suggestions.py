"""The refresh of the suggestion rollups (related and popular services): the CLI's, and the
app's periodic one."""

from __future__ import annotations

import logging

import asyncpg

from config import Settings
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


async def refresh_periodically(pool: asyncpg.Pool, settings: Settings) -> None:
    """The app's refresh, every `suggestions_refresh_seconds` (the first one interval after
    start: a deploy runs `refresh-suggestions` itself). Each worker process runs one; the
    refresh functions take an advisory lock, so concurrent ones queue instead of clashing.
    While it fails, requests keep reading the last rollup."""
    async with pool.acquire() as conn:
        counts = await refresh_now(conn, settings, full=False)
    log.info(
        "suggestions refreshed: %d service pairs, %d popularity rows recounted",
        counts.pairs,
        counts.popularity_rows,
    )
