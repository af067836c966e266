"""The breaker's state machine on its own, with a clock the test moves."""

from __future__ import annotations

import asyncio

import pytest

from loaders.breaker import CLOSED, HALF_OPEN, OPEN, BreakerOpen, LookupBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Down(Exception):
    """An infrastructure failure."""


class Mistake(Exception):
    """An error of ours that says nothing about the database."""


def breaker(clock: Clock, fail_max: int = 3) -> LookupBreaker:
    return LookupBreaker(
        fail_max=fail_max,
        reset_timeout=10.0,
        is_failure=lambda exc: isinstance(exc, Down),
        clock=clock,
    )


async def fails() -> None:
    raise Down("refused")


async def works() -> str:
    return "ok"


async def test_opens_at_fail_max_and_the_tripping_failure_is_the_cause() -> None:
    b = breaker(Clock())
    for _ in range(2):
        with pytest.raises(Down):
            await b.call(fails)
    assert (b.state, b.fail_counter) == (CLOSED, 2)
    with pytest.raises(BreakerOpen) as caught:
        await b.call(fails)
    assert isinstance(caught.value.__cause__, Down)
    assert b.state == OPEN


async def test_open_refuses_without_running_until_the_reset_timeout() -> None:
    clock = Clock()
    b = breaker(clock, fail_max=1)
    with pytest.raises(BreakerOpen):
        await b.call(fails)
    ran = []

    async def record() -> None:
        ran.append(1)

    clock.now += 9.9
    with pytest.raises(BreakerOpen) as caught:
        await b.call(record)
    assert caught.value.__cause__ is None
    assert ran == []
    clock.now += 0.1
    assert b.state == HALF_OPEN
    await b.call(record)
    assert ran == [1]
    assert (b.state, b.fail_counter) == (CLOSED, 0)


async def test_half_open_lets_exactly_one_trial_through() -> None:
    clock = Clock()
    b = breaker(clock, fail_max=1)
    with pytest.raises(BreakerOpen):
        await b.call(fails)
    clock.now += 10
    release = asyncio.Event()

    async def slow_trial() -> str:
        await release.wait()
        return "recovered"

    trial = asyncio.create_task(b.call(slow_trial))
    await asyncio.sleep(0)
    others = await asyncio.gather(*(b.call(works) for _ in range(20)), return_exceptions=True)
    assert all(isinstance(o, BreakerOpen) for o in others)
    release.set()
    assert await trial == "recovered"
    assert b.state == CLOSED


async def test_a_failed_trial_opens_it_again_for_a_full_timeout() -> None:
    clock = Clock()
    b = breaker(clock, fail_max=1)
    with pytest.raises(BreakerOpen):
        await b.call(fails)
    clock.now += 10
    with pytest.raises(BreakerOpen) as caught:
        await b.call(fails)
    assert isinstance(caught.value.__cause__, Down)
    assert b.state == OPEN
    clock.now += 9
    assert b.state == OPEN


async def test_errors_that_are_not_failures_pass_through_and_reset_the_count() -> None:
    b = breaker(Clock())

    async def mistake() -> None:
        raise Mistake("bad query")

    with pytest.raises(Down):
        await b.call(fails)
    with pytest.raises(Mistake):
        await b.call(mistake)
    assert (b.state, b.fail_counter) == (CLOSED, 0)


async def test_a_cancelled_call_is_not_counted() -> None:
    b = breaker(Clock(), fail_max=1)

    async def hang() -> None:
        await asyncio.Event().wait()

    task = asyncio.create_task(b.call(hang))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (b.state, b.fail_counter) == (CLOSED, 0)
