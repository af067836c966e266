from datetime import timedelta

import asyncpg
import pytest

from tests.support import AppHarness, running_app
from tests.support.events import insert_events

STATS = """
query Stats($w: Int) {
  lookupStats(windowMinutes: $w) {
    windowMinutes total avgLatencyMs p95LatencyMs successRate fallbackRate cacheHitRate
  }
}
"""
TIMELINE = """
query Timeline($w: Int, $b: Int) {
  lookupTimeline(windowMinutes: $w, bucketSeconds: $b) { bucketStart total avgLatencyMs }
}
"""


async def test_stats_on_a_known_event_set_give_the_known_p95_and_rates(
    empty_database_url: str,
) -> None:
    async with running_app(empty_database_url, lookup_events=False) as api:
        url = empty_database_url
        # 100 events of 1..100 ms: 85 succeed, 30 fell back, 40 were cache hits.
        await insert_events(
            url,
            [float(ms) for ms in range(1, 101)],
            success=[i < 85 for i in range(100)],
            fallback_used=[i < 30 for i in range(100)],
            cache_hit=[i < 40 for i in range(100)],
        )
        # Outside the window, and another event name: neither counts.
        await insert_events(url, [5000.0] * 10, ago=timedelta(hours=2))
        conn = await asyncpg.connect(url)
        await conn.execute(
            "INSERT INTO analytics_events (event_name, event_properties) "
            """VALUES ('page_view', '{"lookup_time_ms": 9999}')"""
        )
        await conn.close()

        stats = (await api.ops_graphql(STATS, {"w": 60}))["data"]["lookupStats"]
        assert stats["windowMinutes"] == 60
        assert stats["total"] == 100
        assert stats["avgLatencyMs"] == pytest.approx(50.5)
        # Interpolated: the 95th percentile of 1..100 lies between 95 and 96. It is read from
        # the rollups' histogram, within one bucket's width of the exact figure.
        assert stats["p95LatencyMs"] == pytest.approx(95.05, rel=0.025)
        assert stats["successRate"] == pytest.approx(0.85)
        assert stats["fallbackRate"] == pytest.approx(0.30)
        assert stats["cacheHitRate"] == pytest.approx(0.40)

        wide = (await api.ops_graphql(STATS, {"w": 180}))["data"]["lookupStats"]
        assert wide["total"] == 110


async def test_stats_without_events_have_a_zero_total_and_null_rates(
    empty_database_url: str,
) -> None:
    async with running_app(empty_database_url, lookup_events=False) as api:
        stats = await api.ops_graphql(
            "{ lookupStats { windowMinutes total avgLatencyMs "
            "p95LatencyMs successRate fallbackRate cacheHitRate } }"
        )
    assert stats["data"]["lookupStats"] == {
        "windowMinutes": 60,
        "total": 0,
        "avgLatencyMs": None,
        "p95LatencyMs": None,
        "successRate": None,
        "fallbackRate": None,
        "cacheHitRate": None,
    }


async def test_the_timeline_has_one_bucket_per_interval_oldest_first_gaps_included(
    empty_database_url: str,
) -> None:
    async with running_app(empty_database_url, lookup_events=False) as api:
        await insert_events(empty_database_url, [10.0, 20.0], ago=timedelta(minutes=25))
        await insert_events(empty_database_url, [40.0], ago=timedelta(minutes=5))
        body = await api.ops_graphql(TIMELINE, {"w": 30, "b": 600})
    buckets = body["data"]["lookupTimeline"]
    # 30 min in 10-min buckets aligned to the clock: 3 whole ones plus the current one (or 4
    # when now falls exactly on a boundary).
    assert len(buckets) in (3, 4)
    starts = [b["bucketStart"] for b in buckets]
    assert starts == sorted(starts)
    assert sum(b["total"] for b in buckets) == 3
    with_events = [b for b in buckets if b["total"]]
    assert [b["avgLatencyMs"] for b in with_events] == [pytest.approx(15.0), pytest.approx(40.0)]
    assert any(b["total"] == 0 and b["avgLatencyMs"] is None for b in buckets)


@pytest.mark.parametrize(
    ("query", "variables", "fragment"),
    [
        (STATS, {"w": 0}, "windowMinutes"),
        (STATS, {"w": 10_081}, "windowMinutes"),
        (TIMELINE, {"w": 60, "b": 5}, "bucketSeconds"),
        (TIMELINE, {"w": 60, "b": 86_401}, "bucketSeconds"),
        (TIMELINE, {"w": 10_080, "b": 60}, "buckets"),
    ],
)
async def test_windows_and_buckets_past_sane_limits_are_bad_user_input(
    api: AppHarness, query: str, variables: dict[str, int], fragment: str
) -> None:
    body = await api.ops_graphql(query, variables)
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert fragment in error["message"]


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (STATS, {"w": 2**40}),
        (STATS, {"w": 10**30}),
        (STATS, {"w": 1e300}),
        (TIMELINE, {"w": 10**30, "b": 60}),
        (TIMELINE, {"w": 60, "b": -(10**30)}),
        (TIMELINE, {"w": 2**31 - 1, "b": 2**31 - 1}),
        (STATS, {"w": -(2**31)}),
    ],
    ids=["2^40", "10^30", "1e300", "timeline-10^30", "bucket--10^30", "int-max", "int-min"],
)
async def test_windows_outside_any_integer_range_are_bad_user_input(
    api: AppHarness, query: str, variables: dict[str, float]
) -> None:
    body = await api.ops_graphql(query, variables)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    "field", ["lookupStats(windowMinutes: W)", "lookupTimeline(windowMinutes: W)"]
)
async def test_a_window_literal_past_any_integer_range_is_a_graphql_error_not_a_crash(
    api: AppHarness, field: str
) -> None:
    # graphql-core refuses the literal in validation; the cost check, which runs before it,
    # must not trip over the number first.
    query = f"{{ a: {field.replace('W', '9' * 30)} {{ total }} }}"
    body = await api.ops_graphql(query)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]
    assert "32-bit" in body["errors"][0]["message"]
