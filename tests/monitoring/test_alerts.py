from dataclasses import replace

import pytest

from config import ConfigError, Settings
from db.analytics import LookupStatsRow
from monitoring.alerts import AlertThresholds, Severity, evaluate_alerts
from tests.support import running_app
from tests.support.events import insert_events
from tests.support.proxy import proxy_to

HEALTHY = LookupStatsRow(
    total=1000,
    avg_latency_ms=5.0,
    p95_latency_ms=9.0,
    success_rate=1.0,
    fallback_rate=0.0,
    cache_hit_rate=0.9,
)
DEFAULTS = AlertThresholds()
ALERTS = "{ alerts { name severity message value threshold } }"


def names(stats: LookupStatsRow, breaker: str = "closed") -> list[str]:
    return [a.name for a in evaluate_alerts(stats, breaker, DEFAULTS, 5)]


def test_healthy_lookups_fire_nothing() -> None:
    assert names(HEALTHY) == []


@pytest.mark.parametrize(
    ("at_threshold", "past_threshold", "alert"),
    [
        (
            replace(HEALTHY, avg_latency_ms=100.0),
            replace(HEALTHY, avg_latency_ms=100.01),
            "slow_lookups",
        ),
        (
            replace(HEALTHY, success_rate=0.9),
            replace(HEALTHY, success_rate=0.8999),
            "low_success_rate",
        ),
        (
            replace(HEALTHY, fallback_rate=0.2),
            replace(HEALTHY, fallback_rate=0.2001),
            "high_fallback_rate",
        ),
    ],
)
def test_each_rate_alert_fires_past_its_threshold_and_not_at_or_within_it(
    at_threshold: LookupStatsRow, past_threshold: LookupStatsRow, alert: str
) -> None:
    assert names(at_threshold) == []
    assert names(past_threshold) == [alert]


def test_severities_values_and_thresholds_are_reported() -> None:
    stats = replace(HEALTHY, avg_latency_ms=150.0, success_rate=0.5, fallback_rate=0.4)
    fired = {a.name: a for a in evaluate_alerts(stats, "open", DEFAULTS, 5)}
    assert set(fired) == {"slow_lookups", "low_success_rate", "breaker_open", "high_fallback_rate"}
    assert fired["low_success_rate"].severity is Severity.CRITICAL
    assert fired["slow_lookups"].severity is Severity.WARNING
    assert (fired["slow_lookups"].value, fired["slow_lookups"].threshold) == (150.0, 100.0)
    assert "150.0 ms" in fired["slow_lookups"].message


@pytest.mark.parametrize(
    ("state", "fires"), [("open", True), ("half-open", False), ("closed", False)]
)
def test_the_breaker_alert_fires_only_while_open(state: str, fires: bool) -> None:
    assert ("breaker_open" in names(HEALTHY, state)) is fires


def test_no_traffic_fires_no_rate_alert() -> None:
    empty = LookupStatsRow(0, None, None, None, None, None)
    assert names(empty) == []


def test_thresholds_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "ALERT_SLOW_LOOKUP_MS": "250",
            "ALERT_MIN_SUCCESS_RATE": "0.99",
            "ALERT_MAX_FALLBACK_RATE": "0.05",
            "ALERT_WINDOW_MINUTES": "15",
        }
    )
    assert settings.alert_slow_lookup_ms == 250.0
    assert settings.alert_min_success_rate == 0.99
    assert settings.alert_max_fallback_rate == 0.05
    assert settings.alert_window_minutes == 15
    with pytest.raises(ConfigError, match="ALERT_MIN_SUCCESS_RATE"):
        Settings.from_env({"ALERT_MIN_SUCCESS_RATE": "90"})


async def test_the_alerts_query_evaluates_recent_events_against_configured_thresholds(
    empty_database_url: str,
) -> None:
    async with running_app(
        empty_database_url, lookup_events=False, alert_slow_lookup_ms=50.0
    ) as api:
        assert (await api.ops_graphql(ALERTS))["data"]["alerts"] == []
        # avg 60 ms, 80 % success, 25 % fallbacks, all in the alert window.
        await insert_events(
            empty_database_url,
            [60.0] * 20,
            success=[i < 16 for i in range(20)],
            fallback_used=[i < 5 for i in range(20)],
        )
        alerts = (await api.ops_graphql(ALERTS))["data"]["alerts"]
    by_name = {a["name"]: a for a in alerts}
    assert set(by_name) == {"slow_lookups", "low_success_rate", "high_fallback_rate"}
    assert by_name["slow_lookups"]["threshold"] == 50.0
    assert by_name["slow_lookups"]["value"] == pytest.approx(60.0)
    assert by_name["low_success_rate"]["severity"] == "CRITICAL"
    assert by_name["high_fallback_rate"]["severity"] == "WARNING"


async def test_the_alerts_query_reports_an_open_breaker(empty_database_url: str) -> None:
    # A real open breaker: one lookup fails through a refusing proxy, then the database is
    # reachable again while the breaker still waits out its reset timeout.
    async with (
        proxy_to(empty_database_url) as proxy,
        running_app(
            proxy.url_for(empty_database_url),
            lookup_events=False,
            cache_warm_up=False,
            breaker_fail_max=1,
            lookup_statement_timeout_ms=300,
        ) as api,
    ):
        await proxy.refuse()
        await api.graphql('{ microService(slug: "wall-painting") { id } }')
        assert api.app_state.lookup.breaker_state == "open"
        await proxy.restore()
        alerts = (await api.ops_graphql(ALERTS))["data"]["alerts"]
    assert [(a["name"], a["severity"]) for a in alerts] == [("breaker_open", "WARNING")]
