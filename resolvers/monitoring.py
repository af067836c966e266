"""Monitoring fields: lookup stats, their timeline, the business view, the alerts that fire
now, their history and management (acknowledge, silence), and the live subscriptions."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from context import Info
from db import analytics, business
from db.analytics import AlertEventRow, LookupStatsBucketRow, LookupStatsRow
from db.business import JobCounts, LabelCount, WebhookFigures
from db.errors import is_transient
from domain.api_keys import OPS_READ, OPS_WRITE
from domain.errors import BadUserInputError, ServiceUnavailableError
from monitoring.alerts import ALERT_SEVERITIES, FiredAlert
from monitoring.business import (
    PUBLISH_REJECTED,
    REJECTED_FIELD,
    SEARCH_NO_MATCH,
    UNMATCHED_TEXT,
    UPLOAD_REFUSED,
)
from monitoring.live import AlertSnapshot

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
    """Evaluated now (and the changes stored in the alert history, which pushes them to
    `alertsChanged` subscribers), with their acknowledgement and silence."""
    await info.context.auth.require(OPS_READ)
    app = info.context.app
    live = app.require_live()
    async with _deadline(info):
        snapshot = await live.evaluate_alerts(app.monitoring_pool)
    if snapshot.changed:
        live.alerts.refresh()  # its subscribers hear of it now, not at the next tick
    return list(snapshot.alerts)


# --- the business view -------------------------------------------------------------------------

MAX_TOP = 50


@dataclass(frozen=True, slots=True)
class BusinessStats:
    window_minutes: int
    jobs: JobCounts
    jobs_rejected: int
    rejected_fields: list[LabelCount]
    uploads_refused: list[LabelCount]
    searches_without_match: int
    unmatched_searches: list[LabelCount]
    webhooks: WebhookFigures


async def business_stats(info: Info, window_minutes: int = 1440, top: int = 10) -> BusinessStats:
    await info.context.auth.require(OPS_READ)
    since = datetime.now(UTC) - _window(window_minutes)
    if not 1 <= top <= MAX_TOP:
        raise BadUserInputError(f"'top' must be between 1 and {MAX_TOP}, got {top}.")
    # One connection for the few short reads: the monitoring pool is small on purpose.
    async with _deadline(info), info.context.app.monitoring_pool.acquire() as conn:
        jobs = await business.fetch_job_counts(conn, since=since)
        totals = await business.fetch_totals(conn, since=since)
        fields = await business.fetch_top(conn, kind=REJECTED_FIELD, since=since, limit=top)
        uploads = await business.fetch_top(conn, kind=UPLOAD_REFUSED, since=since, limit=top)
        texts = await business.fetch_top(conn, kind=UNMATCHED_TEXT, since=since, limit=top)
        webhooks = await business.fetch_webhook_figures(conn, since=since)
    return BusinessStats(
        window_minutes=window_minutes,
        jobs=jobs,
        jobs_rejected=totals.get(PUBLISH_REJECTED, 0),
        rejected_fields=fields,
        uploads_refused=uploads,
        searches_without_match=totals.get(SEARCH_NO_MATCH, 0),
        unmatched_searches=texts,
        webhooks=webhooks,
    )


# --- live: subscriptions ---------------------------------------------------------------------


# Each subscription checks its caller and arguments before it returns its stream, so that a
# refused one fails as a field does (its error carries the field's `path`), not mid-stream.


async def lookup_stats_updated(info: Info, window_minutes: int) -> AsyncIterator[WindowStats]:
    """The stats of the window now, then again every LIVE_INTERVAL_SECONDS: computed once per
    interval in this process for every subscriber of the same window."""
    await info.context.auth.require(OPS_READ)
    _window(window_minutes)
    topic = info.context.app.require_live().stats(window_minutes)
    return _stats_stream(topic.subscribe(), window_minutes)


async def _stats_stream(
    rows: AsyncGenerator[LookupStatsRow], window_minutes: int
) -> AsyncGenerator[WindowStats]:
    # Closed with the subscription, so that the topic forgets this subscriber at once.
    async with contextlib.aclosing(rows) as stream:
        async for row in stream:
            yield WindowStats(window_minutes, row)


async def alerts_changed(info: Info) -> AsyncIterator[list[FiredAlert]]:
    """The alerts that fire now, then again whenever one that is not silenced fires or
    resolves (or an operator acknowledges or silences one in this process)."""
    await info.context.auth.require(OPS_READ)
    return _alerts_stream(info.context.app.require_live().alerts.subscribe())


async def _alerts_stream(
    snapshots: AsyncGenerator[AlertSnapshot],
) -> AsyncGenerator[list[FiredAlert]]:
    async with contextlib.aclosing(snapshots) as stream:
        async for snapshot in stream:
            yield list(snapshot.alerts)


# --- alert history and management ---------------------------------------------------------------

MAX_HISTORY_PAGE = 100
MAX_NOTE_LENGTH = 1000
MAX_SILENCE = timedelta(days=30)
_CURSOR_PREFIX = "alert-event:"
# ASCII digits only: int() would also take other scripts' digits, underscores and spaces.
_CURSOR = re.compile(rf"{_CURSOR_PREFIX}(?P<id>[0-9]{{1,19}})", re.ASCII)
_MAX_CURSOR = 64
_MAX_EVENT_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class AlertHistory:
    events: list[AlertEventRow]
    end_cursor: str | None
    has_next_page: bool


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    name: str
    note: str
    covers_firing: bool  # False when the alert was not firing: kept as history only


@dataclass(frozen=True, slots=True)
class Silence:
    name: str
    until: datetime
    note: str


def _cursor(event_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{event_id}".encode()).decode()


def _after(cursor: str | None) -> int:
    """The id below which the next page starts; past the newest event without a cursor."""
    if cursor is None:
        return _MAX_EVENT_ID
    text = ""
    # Bounded before decoding: a cursor this API gave out is a few dozen characters.
    if len(cursor) <= _MAX_CURSOR:
        with contextlib.suppress(ValueError, UnicodeError):
            text = base64.urlsafe_b64decode(cursor.encode()).decode()
    match = _CURSOR.fullmatch(text)
    # An id is a bigint: a larger number was never given out, and PostgreSQL would refuse it.
    if match is None or not 0 < int(match["id"]) <= _MAX_EVENT_ID:
        raise BadUserInputError("'after' is not a cursor this API gave out.")
    return int(match["id"])


def _alert_name(name: str) -> str:
    if name not in ALERT_SEVERITIES:
        raise BadUserInputError(
            f"'name' must be one of {', '.join(ALERT_SEVERITIES)}, got {name[:100]!r}."
        )
    return name


def _note(note: str) -> str:
    if len(note) > MAX_NOTE_LENGTH or "\x00" in note:
        raise BadUserInputError(
            f"'note' must be at most {MAX_NOTE_LENGTH} characters, without NUL characters."
        )
    return note


@contextlib.asynccontextmanager
async def _database() -> AsyncIterator[None]:
    """A database outage is SERVICE_UNAVAILABLE (retry later), not an internal error."""
    try:
        yield
    except Exception as exc:
        if is_transient(exc):
            raise ServiceUnavailableError("The alert history cannot be reached right now.") from exc
        raise


async def alert_history(info: Info, first: int = 20, after: str | None = None) -> AlertHistory:
    await info.context.auth.require(OPS_READ)
    if not 1 <= first <= MAX_HISTORY_PAGE:
        raise BadUserInputError(f"'first' must be between 1 and {MAX_HISTORY_PAGE}, got {first}.")
    before_id = _after(after)
    async with _database():
        rows = await analytics.fetch_alert_events(
            info.context.app.pool, before_id=before_id, limit=first + 1
        )
    page = rows[:first]
    return AlertHistory(
        events=page,
        end_cursor=_cursor(page[-1].id) if page else None,
        has_next_page=len(rows) > first,
    )


async def acknowledge_alert(info: Info, name: str, note: str = "") -> Acknowledgement:
    caller = await info.context.auth.require(OPS_WRITE)
    name, note = _alert_name(name), _note(note)
    app = info.context.app
    async with _database():
        covered = await analytics.acknowledge_alert(
            app.pool, name=name, note=note, api_key_id=str(caller.id)
        )
    app.require_live().alerts.refresh()
    return Acknowledgement(name=name, note=note, covers_firing=covered is not None)


async def silence_alert(info: Info, name: str, until: datetime, note: str = "") -> Silence:
    caller = await info.context.auth.require(OPS_WRITE)
    name, note = _alert_name(name), _note(note)
    if until.tzinfo is None:
        raise BadUserInputError("'until' must carry its time zone (e.g. 2026-12-01T08:00:00Z).")
    now = datetime.now(UTC)
    if not now < until <= now + MAX_SILENCE:
        raise BadUserInputError(
            f"'until' must be in the future and at most {MAX_SILENCE.days} days away."
        )
    app = info.context.app
    async with _database():
        stored = await analytics.silence_alert(
            app.pool, name=name, until=until, note=note, api_key_id=str(caller.id)
        )
    app.require_live().alerts.refresh()
    return Silence(name=name, until=stored, note=note)
