"""Fault tests of the lookup's breaker and retries, against the real PostgreSQL through a TCP
proxy that refuses, rejects, stalls or cuts connections on demand."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import pytest

from loaders.errors import LookupUnavailableError
from tests.support.polling import eventually
from tests.support.proxy import TcpProxy
from tests.support.resilience import SLUGS, lookup_rig


async def _reject_new_connections(proxy: TcpProxy) -> None:
    """Cut the pool's open connections and answer every new one with an immediate close."""
    proxy.mode = "reject"
    proxy.cut()
    await asyncio.sleep(0.05)  # let asyncpg notice its connections are gone


async def test_breaker_opens_after_n_failures_then_fails_fast_without_network(
    database_url: str, pg_proxy: TcpProxy
) -> None:
    async with lookup_rig(pg_proxy.url_for(database_url), fail_max=3, attempts=1) as rig:
        lookup = rig.lookup
        await _reject_new_connections(pg_proxy)
        for i in range(3):
            assert lookup.breaker_state == "closed"
            [slot] = await lookup.resolve_each([f"nothing-{i}"])
            assert isinstance(slot, LookupUnavailableError)
        assert lookup.breaker_state == "open"

        before, failures = pg_proxy.accepted, lookup.breaker.fail_counter
        rig.statements.clear()
        for i in range(50):
            [slot] = await lookup.resolve_each([f"other-{i}"])
            assert isinstance(slot, LookupUnavailableError)
            assert slot.cause_kind == "BreakerOpen"
        # Failing fast means touching nothing: not one connection attempt, not one statement,
        # not one failure counted (so no attempt was made and failed) while open.
        assert pg_proxy.accepted == before
        assert rig.statements.statements == []
        assert lookup.breaker.fail_counter == failures


async def test_half_open_admits_exactly_one_trial_under_20_concurrent_requests_then_closes(
    database_url: str, pg_proxy: TcpProxy
) -> None:
    async with lookup_rig(
        pg_proxy.url_for(database_url),
        fail_max=1,
        reset_timeout=0.3,
        attempts=1,
        statement_timeout=5.0,
    ) as rig:
        lookup = rig.lookup
        await pg_proxy.refuse()
        await asyncio.sleep(0.05)
        [slot] = await lookup.resolve_each(["x"])
        assert isinstance(slot, LookupUnavailableError)
        assert lookup.breaker_state == "open"

        await pg_proxy.restore()
        pg_proxy.delay = 0.02  # the trial stays in flight while the others arrive
        await eventually(lambda: lookup.breaker_state == "half-open", what="the reset timeout")
        rig.statements.clear()
        results = await asyncio.gather(*(lookup.resolve_each([f"slug-{i}"]) for i in range(20)))

        answered = [r for [r] in results if not isinstance(r, LookupUnavailableError)]
        refused = [r for [r] in results if isinstance(r, LookupUnavailableError)]
        assert len(answered) == 1  # the trial ("slug-i" does not exist: a definite None)
        assert len(refused) == 19
        assert {r.cause_kind for r in refused} == {"BreakerOpen"}
        assert len(rig.statements.lookups) == 1
        assert lookup.breaker_state == "closed"

        # Closed again: lookups flow as usual.
        assert [r.slug for r in await lookup.resolve(SLUGS[:2]) if r] == list(SLUGS[:2])


async def test_a_failed_trial_reopens_the_breaker(database_url: str, pg_proxy: TcpProxy) -> None:
    async with lookup_rig(
        pg_proxy.url_for(database_url), fail_max=1, reset_timeout=0.2, attempts=1
    ) as rig:
        await pg_proxy.refuse()
        await rig.lookup.resolve_each(["x"])
        assert rig.lookup.breaker_state == "open"
        await eventually(lambda: rig.lookup.breaker_state == "half-open", what="reset timeout")
        [slot] = await rig.lookup.resolve_each(["y"])
        assert isinstance(slot, LookupUnavailableError)
        assert rig.lookup.breaker_state == "open"


def _retries(caplog: pytest.LogCaptureFixture) -> int:
    return sum(1 for r in caplog.records if r.name == "loaders.retry" and "retrying" in r.message)


async def test_transient_errors_are_retried_up_to_the_attempt_limit(
    database_url: str, pg_proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="loaders.retry")
    async with lookup_rig(
        pg_proxy.url_for(database_url), fail_max=100, attempts=3, budget=5.0
    ) as rig:
        await _reject_new_connections(pg_proxy)
        before = pg_proxy.accepted
        [slot] = await rig.lookup.resolve_each([SLUGS[0]])
        assert isinstance(slot, LookupUnavailableError)
        assert _retries(caplog) == 2  # three attempts in all
        assert pg_proxy.accepted - before >= 3  # each went to the network
        assert rig.lookup.breaker.fail_counter == 3

        # The database comes back within the attempts: the lookup succeeds, nobody notices.
        # It comes back right after the first attempt was refused (a fixed delay could outlast
        # all three attempts, whose jittered waits may be very short).
        refused_so_far = pg_proxy.accepted

        async def heal() -> None:
            while pg_proxy.accepted == refused_so_far:  # noqa: ASYNC110  # polled counter
                await asyncio.sleep(0.001)
            await pg_proxy.restore()

        healer = asyncio.create_task(heal())
        [record] = await rig.lookup.resolve([SLUGS[0]])
        await healer
        assert record is not None
        assert record.slug == SLUGS[0]


async def test_retries_stop_at_the_budget(database_url: str, pg_proxy: TcpProxy) -> None:
    budget = 0.25
    async with lookup_rig(
        pg_proxy.url_for(database_url), fail_max=100, attempts=50, budget=budget
    ) as rig:
        await _reject_new_connections(pg_proxy)
        before = pg_proxy.accepted
        [slot] = await rig.lookup.resolve_each([SLUGS[0]])
        assert isinstance(slot, LookupUnavailableError)
        # Retried, and stopped by the budget long before the 50 attempts allowed.
        assert 2 <= pg_proxy.accepted - before < 50


async def test_errors_that_are_not_transient_are_not_retried_nor_counted(
    empty_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="loaders.retry")
    # No tables in this database: the lookup statement fails with a real UndefinedTableError.
    async with lookup_rig(empty_database_url, fail_max=1, attempts=3) as rig:
        with pytest.raises(asyncpg.UndefinedTableError):
            await rig.lookup.resolve_each([SLUGS[0]])
        assert len(rig.statements.lookups) == 1
        assert _retries(caplog) == 0
        assert rig.lookup.breaker_state == "closed"
        [event] = rig.events.events
        assert event.success is False
        assert event.fallback_used is False
        assert event.error_kind == "UndefinedTableError"


async def test_a_slug_that_does_not_exist_is_not_a_failure(database_url: str) -> None:
    async with lookup_rig(database_url, fail_max=1) as rig:
        for i in range(3):
            assert await rig.lookup.resolve([f"no-such-slug-{i}"]) == [None]
        assert rig.lookup.breaker_state == "closed"
        assert rig.lookup.breaker.fail_counter == 0


async def test_a_cancelled_lookup_is_not_retried(database_url: str, pg_proxy: TcpProxy) -> None:
    async with lookup_rig(
        pg_proxy.url_for(database_url), attempts=3, budget=5.0, statement_timeout=5.0
    ) as rig:
        pg_proxy.mode = "stall"
        pg_proxy.cut()
        await asyncio.sleep(0.05)
        before = pg_proxy.accepted
        task = asyncio.create_task(rig.lookup.resolve_each([SLUGS[0]]))
        await eventually(lambda: pg_proxy.accepted - before == 1, what="the first attempt")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.3)
        assert pg_proxy.accepted - before == 1
        assert rig.lookup.breaker.fail_counter == 0


async def test_the_statement_timeout_bounds_a_stalled_database(
    database_url: str, pg_proxy: TcpProxy
) -> None:
    budget, statement_timeout = 0.25, 0.2
    async with lookup_rig(
        pg_proxy.url_for(database_url),
        attempts=3,
        budget=budget,
        statement_timeout=statement_timeout,
    ) as rig:
        pg_proxy.mode = "stall"
        pg_proxy.cut()
        await asyncio.sleep(0.05)
        before = pg_proxy.accepted
        [slot] = await rig.lookup.resolve_each([SLUGS[0]])
        assert isinstance(slot, LookupUnavailableError)
        assert slot.cause_kind == "TimeoutError"
        # Each attempt waits out a whole statement timeout, so the budget has room for one
        # retry at most, never the three attempts allowed.
        assert 1 <= pg_proxy.accepted - before <= 2


async def test_a_slow_answer_past_the_statement_timeout_is_cut_short(
    database_url: str, pg_proxy: TcpProxy
) -> None:
    statement_timeout = 0.15
    async with lookup_rig(
        pg_proxy.url_for(database_url), attempts=1, statement_timeout=statement_timeout
    ) as rig:
        assert await rig.lookup.resolve([SLUGS[0]])  # connection established, cache warm
        await rig.lookup.invalidate([SLUGS[0]])
        pg_proxy.delay = 0.5
        [slot] = await rig.lookup.resolve_each([SLUGS[0]])
        assert isinstance(slot, LookupUnavailableError)
        assert slot.cause_kind == "TimeoutError"  # cut short by the timeout, not answered late
