"""A stalled PostgreSQL (the proxy accepts and answers nothing) costs each request at most its
statement timeout, answered SERVICE_UNAVAILABLE and retryable, with a log line saying so; no
job is half-written. The real app, on the real PostgreSQL, behind a proxy."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from tests.support import AppHarness, error_codes, running_app, test_settings
from tests.support.jobs import PUBLISH, READ_JOB, publish_input
from tests.support.keys import IssuedKey
from tests.support.proxy import TcpProxy, proxy_to

TIMEOUT = 0.5  # the statement timeout these tests set, in seconds
# "Within a few times the timeout": room for scheduling on a shared machine, far below the
# command timeout that bounded a stalled statement before.
BOUND = 3 * TIMEOUT
SETTINGS: dict[str, Any] = {
    "migrate_on_start": False,
    "seed_on_start": False,
    "db_statement_timeout_ms": round(TIMEOUT * 1000),
    "database_probe_timeout": TIMEOUT,
    "lookup_statement_timeout_ms": 300,
    "db_command_timeout": 30.0,
}


# A lookup that meets the stall gives up within the retry budget plus one statement timeout.
LOOKUP_WORST = (
    test_settings().retry_budget_ms / 1000 + SETTINGS["lookup_statement_timeout_ms"] / 1000
)


@pytest.fixture
async def pg_proxy(database_url: str) -> AsyncIterator[TcpProxy]:
    async with proxy_to(database_url) as proxy:
        yield proxy


@contextlib.asynccontextmanager
async def app_behind(
    proxy: TcpProxy, database_url: str, **overrides: Any
) -> AsyncIterator[AppHarness]:
    async with running_app(proxy.url_for(database_url), **{**SETTINGS, **overrides}) as api:
        try:
            yield api
        finally:
            # Free what the stall holds before the pools close.
            await proxy.restore()
            proxy.cut()


async def _jobs(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM jobs"))
    finally:
        await conn.close()


async def _timed_publish(
    api: AppHarness, key: IssuedKey, idempotency_key: str
) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    body = await api.graphql(PUBLISH, publish_input(idempotency_key), headers=key.headers)
    return time.perf_counter() - started, body


def _retryable_unavailable(body: dict[str, Any]) -> None:
    assert error_codes(body) == ["SERVICE_UNAVAILABLE"], body
    assert body["errors"][0]["extensions"]["retryable"] is True


async def test_publish_job_on_a_stalled_database_costs_at_most_its_statement_timeout(
    database_url: str,
    pg_proxy: TcpProxy,
    jobs_writer_key: IssuedKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with app_behind(pg_proxy, database_url) as api:
        # The key's verdict and the micro service are cached: only the insert needs PostgreSQL.
        warm = await api.graphql(PUBLISH, publish_input("warm"), headers=jobs_writer_key.headers)
        assert "errors" not in warm, warm
        before = await _jobs(database_url)
        pg_proxy.stall()
        # Every request, not only the first: the second must not queue behind the first's
        # connection, nor wait on a fresh connect that never completes.
        for attempt in range(3):
            elapsed, body = await _timed_publish(api, jobs_writer_key, f"stalled-{attempt}")
            assert elapsed < BOUND, elapsed
            _retryable_unavailable(body)
        assert "database stalled" in caplog.text
    assert await _jobs(database_url) == before  # nothing half-written, nothing stored


async def test_an_api_key_check_on_a_stalled_database_costs_at_most_its_statement_timeout(
    database_url: str, pg_proxy: TcpProxy, jobs_writer_key: IssuedKey
) -> None:
    async with app_behind(pg_proxy, database_url) as api:
        pg_proxy.stall()
        # The key was never checked by this process: the check itself meets the stall.
        elapsed, body = await _timed_publish(api, jobs_writer_key, "unchecked")
        assert elapsed < BOUND, elapsed
        _retryable_unavailable(body)


async def test_a_lookup_and_an_insert_on_a_stalled_database_are_each_bounded(
    database_url: str, pg_proxy: TcpProxy, jobs_writer_key: IssuedKey
) -> None:
    async with app_behind(pg_proxy, database_url, cache_warm_up=False) as api:
        # The key is checked (and remembered) by a request that needs no lookup of wall-painting.
        checked = await api.graphql(
            '{ microService(slug: "ceiling-painting") { id } }', headers=jobs_writer_key.headers
        )
        assert "errors" not in checked, checked
        before = await _jobs(database_url)
        pg_proxy.stall()
        # The lookup meets the stall (the job would go slug-only), then the insert does.
        elapsed, body = await _timed_publish(api, jobs_writer_key, "cold")
        assert elapsed < LOOKUP_WORST + BOUND, elapsed
        _retryable_unavailable(body)
    assert await _jobs(database_url) == before


async def test_reading_a_job_on_a_stalled_database_costs_at_most_its_statement_timeout(
    database_url: str, pg_proxy: TcpProxy, jobs_writer_key: IssuedKey
) -> None:
    async with app_behind(pg_proxy, database_url) as api:
        published = await api.graphql(
            PUBLISH, publish_input("to-read"), headers=jobs_writer_key.headers
        )
        job_id = published["data"]["publishJob"]["job"]["id"]
        pg_proxy.stall()
        started = time.perf_counter()
        body = await api.graphql(READ_JOB, {"id": job_id}, headers=jobs_writer_key.headers)
        assert time.perf_counter() - started < BOUND
        _retryable_unavailable(body)


async def test_suggestions_on_a_stalled_database_cost_at_most_the_statement_timeout(
    database_url: str, pg_proxy: TcpProxy
) -> None:
    async with app_behind(pg_proxy, database_url, response_cache=False) as api:
        pg_proxy.stall()
        for query in (
            "{ popularServices { microService { slug } } }",
            'query { relatedServices(microUuid: "00000000-0000-4000-8000-000000000000") '
            "{ microService { slug } } }",
        ):
            started = time.perf_counter()
            body = await api.graphql(query)
            assert time.perf_counter() - started < BOUND
            _retryable_unavailable(body)


async def test_health_on_a_stalled_database_answers_within_its_probe_timeout(
    database_url: str, pg_proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    async with app_behind(pg_proxy, database_url) as api:
        assert (await api.client.get("/health")).json()["database"]["reachable"] is True
        pg_proxy.stall()
        for _ in range(2):  # the first probe's abandoned connection must not hold up the next
            started = time.perf_counter()
            response = await api.client.get("/health")
            assert time.perf_counter() - started < BOUND
            assert response.json()["database"] == {"reachable": False, "error": "DatabaseStalled"}
        assert "database stalled" in caplog.text
