"""The alert history in PostgreSQL: transitions stored once, acknowledgements, silences."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from db import analytics
from db.analytics import LookupStatsRow
from monitoring.alerts import ALERT_SEVERITIES, AlertThresholds, evaluate_alerts, evaluate_rules

HEALTHY = LookupStatsRow(
    total=1000,
    avg_latency_ms=5.0,
    p95_latency_ms=9.0,
    success_rate=1.0,
    fallback_rate=0.0,
    cache_hit_rate=0.9,
)
SLOW = replace(HEALTHY, avg_latency_ms=250.0)


@pytest.fixture
async def pool(migrated_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await asyncpg.create_pool(migrated_url, min_size=1, max_size=4)
    assert created is not None
    yield created
    await created.close()


def test_every_rule_gives_a_verdict_and_the_fired_ones_are_the_alerts() -> None:
    verdicts = evaluate_rules(SLOW, "open", AlertThresholds(), 5)
    assert [v.name for v in verdicts] == list(ALERT_SEVERITIES)
    assert {v.name for v in verdicts if v.firing} == {"slow_lookups", "breaker_open"}
    slow = verdicts[0]
    assert (slow.value, slow.threshold, slow.severity) == (250.0, 100.0, "WARNING")
    assert [a.name for a in evaluate_alerts(SLOW, "open", AlertThresholds(), 5)] == [
        "slow_lookups",
        "breaker_open",
    ]
    quiet = evaluate_rules(replace(HEALTHY, avg_latency_ms=None), "closed", AlertThresholds(), 5)
    assert not any(v.firing for v in quiet)


async def test_only_changes_are_stored_with_their_value_and_threshold(
    pool: asyncpg.Pool,
) -> None:
    thresholds = AlertThresholds()
    first = await analytics.record_alert_evaluation(
        pool, evaluate_rules(HEALTHY, "closed", thresholds, 5)
    )
    assert first == []  # nothing ever fired: nothing to resolve either
    fired = await analytics.record_alert_evaluation(
        pool, evaluate_rules(SLOW, "closed", thresholds, 5)
    )
    assert [(e.name, e.state, e.value, e.threshold) for e in fired] == [
        ("slow_lookups", "FIRING", 250.0, 100.0)
    ]
    again = await analytics.record_alert_evaluation(
        pool, evaluate_rules(replace(SLOW, avg_latency_ms=300.0), "closed", thresholds, 5)
    )
    assert again == []
    resolved = await analytics.record_alert_evaluation(
        pool, evaluate_rules(HEALTHY, "closed", thresholds, 5)
    )
    assert [(e.name, e.state, e.severity, e.value) for e in resolved] == [
        ("slow_lookups", "RESOLVED", "WARNING", 5.0)
    ]
    history = await analytics.fetch_alert_events(pool, before_id=2**62, limit=10)
    assert [e.state for e in history] == ["RESOLVED", "FIRING"]  # newest first
    assert [
        e.id for e in await analytics.fetch_alert_events(pool, before_id=history[0].id, limit=10)
    ] == [history[1].id]


async def test_concurrent_evaluators_store_each_change_once(pool: asyncpg.Pool) -> None:
    verdicts = evaluate_rules(SLOW, "open", AlertThresholds(), 5)
    results = await asyncio.gather(
        *(analytics.record_alert_evaluation(pool, verdicts) for _ in range(4))
    )
    stored = sorted(e.name for result in results for e in result)
    assert stored == ["breaker_open", "slow_lookups"]


async def test_acknowledge_covers_the_current_firing_and_silence_marks_the_alert(
    pool: asyncpg.Pool,
) -> None:
    thresholds = AlertThresholds()
    assert (
        await analytics.acknowledge_alert(pool, name="slow_lookups", note="", api_key_id=None)
        is None
    )
    (firing,) = await analytics.record_alert_evaluation(
        pool, evaluate_rules(SLOW, "closed", thresholds, 5)
    )
    covered = await analytics.acknowledge_alert(
        pool, name="slow_lookups", note="looking into it", api_key_id=None
    )
    assert covered == firing.id
    until = datetime.now(UTC) + timedelta(hours=1)
    stored_until = await analytics.silence_alert(
        pool, name="slow_lookups", until=until, note="deploy", api_key_id=None
    )
    assert stored_until == until
    (overview,) = await analytics.fetch_alert_overview(pool)
    assert overview.firing
    assert overview.acknowledgement_note == "looking into it"
    assert overview.silenced_until == until
    # Resolving ends the acknowledgement's cover; the silence lasts until its end.
    await analytics.record_alert_evaluation(pool, evaluate_rules(HEALTHY, "closed", thresholds, 5))
    (overview,) = await analytics.fetch_alert_overview(pool)
    assert not overview.firing
    assert overview.acknowledged_at is None
    assert overview.silenced_until == until
    with pytest.raises(asyncpg.CheckViolationError):
        await analytics.silence_alert(
            pool,
            name="slow_lookups",
            until=datetime.now(UTC) - timedelta(minutes=1),
            note="",
            api_key_id=None,
        )
