"""Settings of lookup monitoring: recorded events, rollups, live updates, alerts."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class MonitoringSettings(BaseSettings):
    """Lookup monitoring: recorded events, rollups, live updates and alerts."""

    lookup_events: bool = Field(
        True, description="Record every slug lookup into `analytics_events`."
    )
    event_buffer_size: int = Field(
        10_000,
        ge=1,
        le=10_000_000,
        description="Events held in memory at most; past it the oldest are dropped and counted.",
    )
    event_flush_interval: float = Field(
        1.0, ge=0.01, description="Seconds between writes of whatever is buffered."
    )
    event_flush_batch: int = Field(
        500, ge=1, le=100_000, description="Events per write (one `COPY`)."
    )
    event_retention_days: int = Field(
        7,
        ge=1,
        le=3660,
        description="Days raw events are kept in `analytics_events` (dropped a day partition "
        "at a time).",
    )
    rollup_retention_days: int = Field(
        400,
        ge=1,
        le=36_600,
        description="Days the per-minute and per-hour lookup rollups are kept.",
    )
    event_upkeep_interval: float = Field(
        60.0,
        ge=1.0,
        le=86_400.0,
        description="Seconds between upkeep runs of the event tables (a periodic task): day "
        "partitions created ahead, expired ones dropped, recent rollups folded.",
    )
    live_interval_seconds: float = Field(
        5.0,
        ge=0.05,
        le=3600.0,
        description="Seconds between live updates: stats pushed to `lookupStatsUpdated` "
        "subscribers, alerts evaluated, stored in their history and pushed on change.",
    )
    monitoring_max_cost: int = Field(
        20_160,
        ge=1,
        le=10**9,
        description="Budget of one request's monitoring fields, in window-minutes summed over "
        "every field and alias (`QUERY_TOO_COSTLY` above).",
    )
    monitoring_pool_max: int = Field(
        2,
        ge=1,
        le=100,
        description="Connections of the monitoring fields' own pool: however they are asked "
        "for, they never take more than this from PostgreSQL.",
    )
    monitoring_statement_timeout_ms: int = Field(
        5000,
        ge=100,
        le=600_000,
        description="PostgreSQL `statement_timeout` of the monitoring pool's connections.",
    )
    alert_window_minutes: int = Field(
        5, ge=1, le=10_080, description="The window the `alerts` query evaluates."
    )
    alert_slow_lookup_ms: float = Field(
        100.0, ge=0.0, description="`slow_lookups` fires when the average lookup is slower."
    )
    alert_min_success_rate: float = Field(
        0.9, ge=0.0, le=1.0, description="`low_success_rate` fires below this success rate."
    )
    alert_max_fallback_rate: float = Field(
        0.2, ge=0.0, le=1.0, description="`high_fallback_rate` fires above this fallback rate."
    )
