"""The live topics behind the subscriptions: one computation per interval for every subscriber,
and a slow subscriber that only ever misses values, never holds anyone up."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import asyncpg
import pytest

from domain.errors import BadUserInputError
from monitoring.alerts import AlertThresholds
from monitoring.live import MAX_LIVE_WINDOWS, LiveMonitor, Topic
from tests.support.events import insert_events


def counting_topic(interval: float = 0.05) -> Topic[int]:
    counter = itertools.count(1)

    async def compute() -> int:
        return next(counter)

    return Topic("test", compute, interval)


async def take(stream: AsyncIterator[int], n: int) -> list[int]:
    values = []
    async for value in stream:
        values.append(value)
        if len(values) == n:
            break
    return values


async def test_one_computation_per_interval_whatever_the_number_of_subscribers() -> None:
    topic = counting_topic()
    streams = [topic.subscribe() for _ in range(200)]
    results = await asyncio.gather(*(take(stream, 5) for stream in streams))
    for values in results:
        assert values == sorted(values)
        assert len(values) == 5
    # 200 subscribers x 5 values, from a handful of computations shared by all of them.
    assert topic.computations <= 8
    for stream in streams:
        await stream.aclose()
    await asyncio.sleep(0)
    assert topic.subscribers == 0


async def test_a_slow_subscriber_gets_the_latest_value_and_holds_up_nobody() -> None:
    topic = counting_topic(0.02)
    slow = topic.subscribe()
    first = await anext(slow)  # then it stops reading for a while
    fast_values = await take(topic.subscribe(), 10)
    assert len(fast_values) == 10
    latest = await anext(slow)
    # It missed the values in between, not the newest one; nothing piled up for it.
    assert latest >= fast_values[-1]
    assert latest > first + 1
    await slow.aclose()


async def test_a_topic_stops_computing_when_its_last_subscriber_leaves() -> None:
    topic = counting_topic(0.01)
    stream = topic.subscribe()
    await take(stream, 3)
    await stream.aclose()
    done = topic.computations
    await asyncio.sleep(0.1)
    assert topic.computations == done


async def test_the_number_of_watched_windows_is_bounded() -> None:
    live = LiveMonitor(
        None,  # type: ignore[arg-type]  # never queried here
        lambda: "closed",
        AlertThresholds(),
        alert_window_minutes=5,
    )
    streams = []
    for window in range(1, MAX_LIVE_WINDOWS + 1):
        topic = live.stats(window)
        streams.append(topic)
        topic._subscribers.add(object())  # type: ignore[arg-type]  # watched
    with pytest.raises(BadUserInputError):
        live.stats(MAX_LIVE_WINDOWS + 1)
    assert live.stats(1) is streams[0]  # a watched window is shared, not a new one
    streams[0]._subscribers.clear()
    live.stats(MAX_LIVE_WINDOWS + 1)  # an unwatched one made room


async def test_every_worker_pushes_a_change_whichever_stored_it(migrated_url: str) -> None:
    """Two processes' monitors on one database: the one whose evaluation did not store the
    firing (the other got there first) still pushes it to its own subscribers."""
    pools = [await asyncpg.create_pool(migrated_url, min_size=1, max_size=1) for _ in range(2)]
    # The subscribers' monitor ticks rarely: it computes when told to, below, so the order of
    # the two evaluations is the test's and not the clock's.
    monitors = [
        LiveMonitor(pool, lambda: "closed", AlertThresholds(), alert_window_minutes=5, interval=30)
        for pool in pools
    ]
    try:
        stream = monitors[1].alerts.subscribe()
        assert (await anext(stream)).alerts == ()
        await insert_events(migrated_url, [250.0] * 5)
        stored = await monitors[0].evaluate_alerts()  # this one stores the transition
        assert stored.changed
        monitors[1].alerts.refresh()
        async with asyncio.timeout(5):
            pushed = await anext(stream)
        assert [a.name for a in pushed.alerts] == ["slow_lookups"]
        assert not pushed.changed  # monitors[1] stored nothing, and pushed all the same
        await stream.aclose()
    finally:
        for monitor in monitors:
            await monitor.close()
        for pool in pools:
            await pool.close()
