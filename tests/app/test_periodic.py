import asyncio
import logging

import pytest

from app.periodic import Periodic, PeriodicTask


async def test_a_task_runs_every_interval_until_the_app_stops() -> None:
    runs = 0
    third = asyncio.Event()

    async def count() -> None:
        nonlocal runs
        runs += 1
        if runs == 3:
            third.set()

    async with Periodic([PeriodicTask("count", 0.01, count)]):
        await asyncio.wait_for(third.wait(), 5)
    stopped_at = runs
    await asyncio.sleep(0.05)
    assert runs == stopped_at  # leaving the context cancelled it


async def test_a_task_waits_one_interval_unless_it_runs_at_start() -> None:
    ran: list[str] = []
    started = asyncio.Event()

    async def record(name: str) -> None:
        ran.append(name)
        started.set()

    tasks = [
        PeriodicTask("later", 3600, lambda: record("later")),
        PeriodicTask("now", 3600, lambda: record("now"), at_start=True),
    ]
    async with Periodic(tasks):
        await asyncio.wait_for(started.wait(), 5)
    assert ran == ["now"]


async def test_a_failing_run_is_logged_by_name_and_the_task_keeps_running(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="jobwizard.periodic")
    calls = 0
    third = asyncio.Event()

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionRefusedError("database away")
        if calls == 2:
            raise ValueError("a bug")
        third.set()

    async with Periodic([PeriodicTask("flaky job", 0.01, flaky, at_start=True)]):
        await asyncio.wait_for(third.wait(), 5)
    records = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert records[0][0] == logging.WARNING
    assert records[0][1].startswith("flaky job skipped, database unavailable")
    assert records[1] == (logging.ERROR, "flaky job failed")
    assert caplog.records[1].exc_info is not None  # the traceback is logged with it
    assert len(records) == 2  # the third run succeeded: nothing logged


def test_an_interval_must_be_positive() -> None:
    async def nothing() -> None:
        return None

    with pytest.raises(ValueError, match="'upkeep': the interval must be positive"):
        PeriodicTask("upkeep", 0, nothing)
