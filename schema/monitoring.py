"""GraphQL types of lookup monitoring: stats over a window, per-bucket stats, alerts. The
resolvers return `WindowStats` / `LookupStatsBucketRow` (figures under `.stats`) and
`FiredAlert`s."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from monitoring.alerts import Severity

AlertSeverity = strawberry.enum(Severity, name="AlertSeverity")


@strawberry.type
class Alert:
    name: str = strawberry.field(
        description="slow_lookups, low_success_rate, breaker_open or high_fallback_rate."
    )
    severity: Severity  # registered above as `AlertSeverity`
    message: str
    value: float | None = strawberry.field(description="The measured value, where there is one.")
    threshold: float | None


def _figure(name: str, kind: Any) -> Any:
    def read(root: Any) -> Any:
        return getattr(root.stats, name)

    read.__annotations__["return"] = kind
    return strawberry.field(resolver=read)


@strawberry.type
class LookupFigures:
    """Not exposed on its own: the fields a window and a bucket both report."""

    total: int = _figure("total", int)
    avg_latency_ms: float | None = _figure("avg_latency_ms", float | None)
    p95_latency_ms: float | None = _figure("p95_latency_ms", float | None)
    success_rate: float | None = _figure("success_rate", float | None)
    fallback_rate: float | None = _figure("fallback_rate", float | None)
    cache_hit_rate: float | None = _figure("cache_hit_rate", float | None)


@strawberry.type(
    description="Slug lookups over a window. Rates are fractions 0..1, null when total is 0."
)
class LookupStats(LookupFigures):
    window_minutes: int


@strawberry.type
class LookupStatsBucket(LookupFigures):
    bucket_start: datetime
