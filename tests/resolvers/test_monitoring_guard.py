"""The monitoring fields: an ops:read key, a query-cost budget checked before anything runs,
and a pool of their own so that however they are asked for, lookups keep their connections."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable

import pytest

from tests.support import AppHarness, error_codes, running_app
from tests.support.keys import IssuedKey
from tests.support.polling import eventually

STATS = "{ lookupStats(windowMinutes: 60) { total } }"


def aliased(count: int, window: int) -> str:
    fields = " ".join(
        f"s{i}: lookupStats(windowMinutes: {window}) {{ total p95LatencyMs }}" for i in range(count)
    )
    return f"{{ {fields} }}"


async def test_monitoring_needs_a_key_with_ops_read(
    api: AppHarness, make_api_key: Callable[..., Awaitable[IssuedKey]]
) -> None:
    for query in (STATS, "{ alerts { name } }", "{ lookupTimeline { total } }"):
        assert error_codes(await api.graphql(query)) == ["UNAUTHENTICATED"]
    writer = await make_api_key("jobs:write")
    assert error_codes(await api.graphql(STATS, headers=writer.headers)) == ["FORBIDDEN"]
    ops = await make_api_key("ops:read")
    body = await api.graphql(STATS, headers=ops.headers)
    assert body["data"]["lookupStats"]["total"] >= 0


async def test_a_request_over_the_cost_budget_is_refused_before_it_runs(api: AppHarness) -> None:
    api.statements.clear()
    body = await api.ops_graphql(aliased(100, 10080))
    (error,) = body["errors"]
    assert error["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "cost": 1_008_000,
        "limit": api.app_state.settings.monitoring_max_cost,
    }
    assert "data" not in body
    assert api.statements.matching("get_uuid_lookup_stats") == []
    # Variables count as much as literals.
    body = await api.ops_graphql(
        "query ($w: Int) { a: lookupStats(windowMinutes: $w) { total } "
        "b: lookupStats(windowMinutes: $w) { total } "
        "c: lookupStats(windowMinutes: $w) { total } }",
        {"w": 10080},
    )
    assert error_codes(body) == ["QUERY_TOO_COSTLY"]


@pytest.mark.parametrize(
    "event_id",
    ["9" * 30, str(2**63), "0", "-1", "1_000", "\u0661\u0662", " 12", "12 "],
    ids=["30-digits", "2^63", "zero", "negative", "underscore", "arabic-digits", "lead", "trail"],
)
async def test_an_alert_history_cursor_with_a_number_no_id_can_hold_is_bad_user_input(
    api: AppHarness, event_id: str
) -> None:
    cursor = base64.urlsafe_b64encode(f"alert-event:{event_id}".encode()).decode()
    body = await api.ops_graphql(
        "query($a: String) { alertHistory(after: $a) { hasNextPage } }", {"a": cursor}
    )
    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_an_alert_history_cursor_of_the_largest_id_is_taken(api: AppHarness) -> None:
    cursor = base64.urlsafe_b64encode(f"alert-event:{2**63 - 1}".encode()).decode()
    body = await api.ops_graphql(
        "query($a: String) { alertHistory(after: $a) { hasNextPage } }", {"a": cursor}
    )
    assert body["data"]["alertHistory"] == {"hasNextPage": False}
    long = await api.ops_graphql(
        "query($a: String) { alertHistory(after: $a) { hasNextPage } }", {"a": "QUFB" * 10_000}
    )
    assert error_codes(long) == ["BAD_USER_INPUT"]


async def test_monitoring_runs_on_its_own_small_pool_with_its_own_timeout(
    database_url: str,
) -> None:
    async with running_app(
        database_url,
        migrate_on_start=False,
        seed_on_start=False,
        cache_warm_up=False,
        monitoring_pool_max=2,
        monitoring_statement_timeout_ms=1500,
    ) as api:
        ops_pool = api.app_state.ops_pool
        assert ops_pool is not None
        assert await ops_pool.fetchval("SHOW statement_timeout") == "1500ms"
        heavy = [asyncio.create_task(api.ops_graphql(aliased(150, 120))) for _ in range(3)]
        await eventually(
            lambda: ops_pool.get_size() == 2 and ops_pool.get_idle_size() == 0,
            what="the monitoring queries hold every connection of their pool",
        )
        # A cold lookup needs a connection of the main pool: it must not wait for monitoring,
        # so it is answered while the monitoring queries are still running.
        body = await api.graphql('{ microService(slug: "wall-painting") { id } }')
        assert body["data"]["microService"]["id"]
        assert not all(task.done() for task in heavy)
        for result in await asyncio.gather(*heavy):
            assert "INTERNAL_SERVER_ERROR" not in error_codes(result)
        assert ops_pool.get_size() <= 2
