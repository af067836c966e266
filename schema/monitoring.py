"""GraphQL types of lookup monitoring: stats over a window, per-bucket stats, alerts."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

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


def _figures(row: LookupStatsRow) -> dict[str, Any]:
    """The figures both stats types share, by field name."""
    return {
        "total": row.total,
        "avg_latency_ms": row.avg_latency_ms,
        "p95_latency_ms": row.p95_latency_ms,
        "success_rate": row.success_rate,
        "fallback_rate": row.fallback_rate,
        "cache_hit_rate": row.cache_hit_rate,
    }


@strawberry.type
class LookupFigures:
    """Not exposed on its own: the fields a window and a bucket both report."""

    total: int
    avg_latency_ms: float | None
    p95_latency_ms: float | None
    success_rate: float | None
    fallback_rate: float | None
    cache_hit_rate: float | None


@strawberry.type(
    description="Slug lookups over a window. Rates are fractions 0..1, null when total is 0."
)
class LookupStats(LookupFigures):
    window_minutes: int

    @classmethod
    def from_row(cls, row: LookupStatsRow, window_minutes: int) -> LookupStats:
        return cls(window_minutes=window_minutes, **_figures(row))


@strawberry.type
class LookupStatsBucket(LookupFigures):
    bucket_start: datetime

    @classmethod
    def from_row(cls, row: LookupStatsBucketRow) -> LookupStatsBucket:
        return cls(bucket_start=row.bucket_start, **_figures(row.stats))
