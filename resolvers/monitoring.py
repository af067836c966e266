"""Monitoring fields: lookup stats, their timeline, the alerts that fire now."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from context import Info
from db import analytics
from db.analytics import LookupStatsBucketRow, LookupStatsRow
from domain.api_keys import OPS_READ
from domain.errors import BadUserInputError
from monitoring.alerts import AlertThresholds, FiredAlert, evaluate_alerts

MAX_WINDOW_MINUTES = 7 * 24 * 60  # a week: events older than that are history, not monitoring
MIN_BUCKET_SECONDS = 10
MAX_BUCKET_SECONDS = 24 * 60 * 60
MAX_BUCKETS = 1440  # one day at one per minute: more points than any chart can show


@dataclass(frozen=True, slots=True)
class WindowStats:
    window_minutes: int
    stats: LookupStatsRow


def _deadline(info: Info) -> asyncio.Timeout:
    """The whole field, waiting for one of the monitoring pool's few connections included:
    past it the field answers SERVICE_UNAVAILABLE (a timeout is a transient fault)."""
    return asyncio.timeout(2 * info.context.app.settings.monitoring_statement_timeout_ms / 1000)


def _window(window_minutes: int) -> timedelta:
    if not 1 <= window_minutes <= MAX_WINDOW_MINUTES:
        raise BadUserInputError(
            f"'windowMinutes' must be between 1 and {MAX_WINDOW_MINUTES}, got {window_minutes}."
        )
    return timedelta(minutes=window_minutes)


async def lookup_stats(info: Info, window_minutes: int = 60) -> WindowStats:
    await info.context.auth.require(OPS_READ)
    window = _window(window_minutes)
    async with _deadline(info):
        row = await analytics.fetch_lookup_stats(info.context.app.monitoring_pool, window=window)
    return WindowStats(window_minutes, row)


async def lookup_timeline(
    info: Info, window_minutes: int = 60, bucket_seconds: int = 60
) -> list[LookupStatsBucketRow]:
    await info.context.auth.require(OPS_READ)
    window = _window(window_minutes)
    if not MIN_BUCKET_SECONDS <= bucket_seconds <= MAX_BUCKET_SECONDS:
        raise BadUserInputError(
            f"'bucketSeconds' must be between {MIN_BUCKET_SECONDS} and {MAX_BUCKET_SECONDS}, "
            f"got {bucket_seconds}."
        )
    if window_minutes * 60 // bucket_seconds > MAX_BUCKETS:
        raise BadUserInputError(
            f"'windowMinutes' / 'bucketSeconds' would give more than {MAX_BUCKETS} buckets; "
            "use larger buckets or a shorter window."
        )
    async with _deadline(info):
        return await analytics.fetch_lookup_timeline(
            info.context.app.monitoring_pool,
            window=window,
            bucket=timedelta(seconds=bucket_seconds),
        )


async def alerts(info: Info) -> list[FiredAlert]:
    await info.context.auth.require(OPS_READ)
    app = info.context.app
    settings = app.settings
    window_minutes = settings.alert_window_minutes
    async with _deadline(info):
        stats = await analytics.fetch_lookup_stats(
            app.monitoring_pool, window=timedelta(minutes=window_minutes)
        )
    thresholds = AlertThresholds(
        slow_lookup_ms=settings.alert_slow_lookup_ms,
        min_success_rate=settings.alert_min_success_rate,
        max_fallback_rate=settings.alert_max_fallback_rate,
    )
    return evaluate_alerts(stats, app.lookup.breaker_state, thresholds, window_minutes)
