"""GraphQL types of lookup monitoring: stats over a window, per-bucket stats, alerts."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from db.analytics import LookupStatsBucketRow, LookupStatsRow
from monitoring.alerts import FiredAlert


@strawberry.enum
class AlertSeverity(Enum):
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


@strawberry.type
class Alert:
    name: str = strawberry.field(
        description="slow_lookups, low_success_rate, breaker_open or high_fallback_rate."
    )
    severity: AlertSeverity
    message: str
    value: float | None = strawberry.field(description="The measured value, where there is one.")
    threshold: float | None

    @classmethod
    def from_fired(cls, fired: FiredAlert) -> Alert:
        return cls(
            name=fired.name,
            severity=AlertSeverity(fired.severity.value),
            message=fired.message,
            value=fired.value,
            threshold=fired.threshold,
        )


@strawberry.type(
    description="Slug lookups over a window. Rates are fractions 0..1, null when total is 0."
)
class LookupStats:
    window_minutes: int
    total: int
    avg_latency_ms: float | None
    p95_latency_ms: float | None
    success_rate: float | None
    fallback_rate: float | None
    cache_hit_rate: float | None

    @classmethod
    def from_row(cls, row: LookupStatsRow, window_minutes: int) -> LookupStats:
        return cls(
            window_minutes=window_minutes,
            total=row.total,
            avg_latency_ms=row.avg_latency_ms,
            p95_latency_ms=row.p95_latency_ms,
            success_rate=row.success_rate,
            fallback_rate=row.fallback_rate,
            cache_hit_rate=row.cache_hit_rate,
        )


@strawberry.type
class LookupStatsBucket:
    bucket_start: datetime
    total: int
    avg_latency_ms: float | None
    p95_latency_ms: float | None
    success_rate: float | None
    fallback_rate: float | None
    cache_hit_rate: float | None

    @classmethod
    def from_row(cls, row: LookupStatsBucketRow) -> LookupStatsBucket:
        stats = row.stats
        return cls(
            bucket_start=row.bucket_start,
            total=stats.total,
            avg_latency_ms=stats.avg_latency_ms,
            p95_latency_ms=stats.p95_latency_ms,
            success_rate=stats.success_rate,
            fallback_rate=stats.fallback_rate,
            cache_hit_rate=stats.cache_hit_rate,
        )
