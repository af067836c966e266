"""Live monitoring for GraphQL subscriptions: each figure is computed once per interval per
process, however many clients listen, and handed to every subscriber through a mailbox that
keeps only the newest value, so a slow subscriber misses intermediate values instead of holding
up the others or growing memory.

`LiveMonitor` owns the topics: lookup stats per window (computed only while someone listens)
and the alerts (evaluated all the time, so that the alert history has every firing and
resolving even when nobody watches; pushed when an alert that is not silenced changes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Generic, TypeVar

import asyncpg

from db import analytics
from db.analytics import LookupStatsRow
from domain.errors import BadUserInputError
from monitoring.alerts import AlertThresholds, FiredAlert, Severity, evaluate_rules

log = logging.getLogger("jobwizard.live")

T = TypeVar("T")

# Distinct `windowMinutes` watched at once per process: each is one query per interval.
MAX_LIVE_WINDOWS = 16


class Mailbox(Generic[T]):
    """Holds at most one value; a newer one replaces an unread older one (counted)."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[T] = asyncio.Queue(maxsize=1)
        self.replaced = 0

    def put(self, value: T) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.replaced += 1
        self._queue.put_nowait(value)

    async def get(self) -> T:
        return await self._queue.get()


class Topic(Generic[T]):
    """A value computed every `interval` seconds by one task, for all subscribers.

    With `always`, the task runs from `start()` to `close()`; otherwise it runs only while
    there are subscribers. `publish(old, new)` decides whether a new value is sent (every one
    by default); a new subscriber first gets a value computed after it subscribed (a refresh),
    not the last one of the interval, which may be older than what a query answers now."""

    def __init__(
        self,
        name: str,
        compute: Callable[[], Awaitable[T]],
        interval: float,
        *,
        always: bool = False,
        publish: Callable[[T | None, T], bool] | None = None,
    ) -> None:
        self.name = name
        self._compute = compute
        self._interval = interval
        self._always = always
        self._publish = publish
        self._subscribers: set[Mailbox[T]] = set()
        # New subscribers, owed their first value: the next computation that starts after
        # they came is sent to them whatever `publish` says, and to nobody else on their account.
        self._owed: set[Mailbox[T]] = set()
        self._latest: T | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._force = False
        self.computations = 0

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"live-{self.name}")

    async def close(self) -> None:
        self._always = False
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def refresh(self, *, push: bool = False) -> None:
        """Compute again now rather than at the next tick; with `push`, send the result to
        every subscriber whatever `publish` says."""
        self._force = self._force or push
        self._wake.set()

    async def subscribe(self) -> AsyncGenerator[T]:
        box: Mailbox[T] = Mailbox()
        self._subscribers.add(box)
        self._owed.add(box)
        self.refresh()
        self.start()
        try:
            while True:
                yield await box.get()
        finally:
            self._subscribers.discard(box)
            self._owed.discard(box)
            if not self._subscribers and not self._always:
                await self.close()

    async def _run(self) -> None:
        due = True  # an interval passed (rather than a refresh woke the task)
        if self._always:
            # Started with the process: the first evaluation waits a tick (or the first
            # subscriber or refresh) rather than adding to the start-up's connections.
            due = await self._sleep()
        while self._always or self._subscribers:
            self._wake.clear()  # a refresh asked during the computation computes again
            # Only subscribers who were here before the computation began get its value: a
            # newer one gets the next, which its subscription already asked for.
            owed, self._owed = self._owed, set()
            present = set(self._subscribers)
            try:
                value = await self._compute()
            except Exception as exc:  # a failed computation skips one tick, never the topic
                self._owed |= owed & self._subscribers
                log.warning("live %s not computed: %r", self.name, exc)
            else:
                self.computations += 1
                previous, self._latest = self._latest, value
                forced, self._force = self._force, False
                # Without `publish`, every subscriber gets a value per interval, and one
                # computed early for a new subscriber goes to that subscriber only.
                publish = self._publish
                if forced or (due if publish is None else publish(previous, value)):
                    owed = present
                for box in list(owed & self._subscribers):
                    box.put(value)
            due = await self._sleep()
        self._task = None

    async def _sleep(self) -> bool:
        """Until the next tick (True), or a refresh (False)."""
        # asyncio.timeout, not wait_for: on 3.11 wait_for can lose a cancellation that arrives
        # as the wait ends, and the loop would then outlive close().
        try:
            async with asyncio.timeout(self._interval):
                await self._wake.wait()
        except TimeoutError:
            return True
        return False


@dataclass(frozen=True, slots=True)
class AlertSnapshot:
    """The alerts that fire now (silenced ones included, marked); whether this evaluation
    stored a transition; and the state subscribers are told about when it changes.

    `state` is compared between snapshots of this process rather than trusting this process's
    own transitions: with several workers, the one that stores a transition is not the one
    every subscriber is connected to. A silenced alert's firing and resolving leave `state`
    alone (it does not push); acknowledging or silencing changes it."""

    alerts: tuple[FiredAlert, ...]
    changed: bool
    state: frozenset[tuple[str, ...]]


class LiveMonitor:
    """The process's live topics. `breaker_state` reads this process's lookup breaker."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        breaker_state: Callable[[], str],
        thresholds: AlertThresholds,
        *,
        alert_window_minutes: int,
        interval: float = 5.0,
    ) -> None:
        self._pool = pool
        self._breaker_state = breaker_state
        self._thresholds = thresholds
        self._alert_window = alert_window_minutes
        self._interval = interval
        self._stats: dict[int, Topic[LookupStatsRow]] = {}
        self.alerts: Topic[AlertSnapshot] = Topic(
            "alerts",
            self.evaluate_alerts,
            interval,
            always=True,
            publish=lambda old, new: old is None or old.state != new.state,
        )

    def start(self) -> None:
        self.alerts.start()

    async def close(self) -> None:
        await self.alerts.close()
        for topic in list(self._stats.values()):
            await topic.close()

    def stats(self, window_minutes: int) -> Topic[LookupStatsRow]:
        """The stats topic of one window; at most MAX_LIVE_WINDOWS distinct windows watched."""
        topic = self._stats.get(window_minutes)
        if topic is None:
            for key in [k for k, t in self._stats.items() if not t.subscribers]:
                del self._stats[key]
            if len(self._stats) >= MAX_LIVE_WINDOWS:
                raise BadUserInputError(
                    f"At most {MAX_LIVE_WINDOWS} different 'windowMinutes' can be watched at "
                    "once; use one of those already watched (60 is the dashboard's)."
                )
            window = timedelta(minutes=window_minutes)

            async def compute() -> LookupStatsRow:
                return await analytics.fetch_lookup_stats(self._pool, window=window)

            topic = Topic(f"stats-{window_minutes}", compute, self._interval)
            self._stats[window_minutes] = topic
        return topic

    async def evaluate_alerts(self, pool: asyncpg.Pool | None = None) -> AlertSnapshot:
        """Evaluate every rule now, store the transitions, and read back the alerts that fire
        with their acknowledgement and silence; on `pool` (a request's), else the monitor's."""
        db = self._pool if pool is None else pool
        stats = await analytics.fetch_lookup_stats(db, window=timedelta(minutes=self._alert_window))
        verdicts = evaluate_rules(
            stats, self._breaker_state(), self._thresholds, self._alert_window
        )
        transitions = await analytics.record_alert_evaluation(db, verdicts)
        overview = {row.name: row for row in await analytics.fetch_alert_overview(db)}
        fired = []
        for verdict in verdicts:
            if not verdict.firing:
                continue
            alert = FiredAlert(
                verdict.name,
                Severity(verdict.severity),
                verdict.message,
                verdict.value,
                verdict.threshold,
            )
            row = overview.get(verdict.name)
            if row is not None and row.firing:
                alert = replace(
                    alert,
                    since=row.since,
                    acknowledged_at=row.acknowledged_at,
                    acknowledgement_note=row.acknowledgement_note,
                    silenced_until=row.silenced_until,
                )
            fired.append(alert)
        silenced = {name for name, row in overview.items() if row.silenced_until is not None}
        state = frozenset(
            [("silenced", name) for name in silenced]
            + [
                ("firing", a.name, a.severity.value, str(a.acknowledged_at is not None))
                for a in fired
                if a.name not in silenced
            ]
        )
        changed = any(event.name not in silenced for event in transitions)
        return AlertSnapshot(tuple(fired), changed, state)
