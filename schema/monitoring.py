"""GraphQL types of lookup monitoring: stats over a window, per-bucket stats, alerts. The
resolvers return `WindowStats` / `LookupStatsBucketRow` (figures under `.stats`) and
`FiredAlert`s."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
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
    since: datetime | None = strawberry.field(
        description="When it started firing, from the alert history."
    )
    acknowledged_at: datetime | None = strawberry.field(
        description="When an operator acknowledged this firing (null: not acknowledged)."
    )
    acknowledgement_note: str | None
    silenced_until: datetime | None = strawberry.field(
        description="Silenced until then: still shown, but not pushed to `alertsChanged`."
    )
    acknowledged: bool = strawberry.field(
        resolver=lambda root: root.acknowledged_at is not None,
        description="An operator has acknowledged this firing.",
    )
    silenced: bool = strawberry.field(
        resolver=lambda root: root.silenced_until is not None,
        description="Silenced now (see `silencedUntil`).",
    )


@strawberry.enum(description="What an alert event records.")
class AlertState(Enum):
    FIRING = "FIRING"
    RESOLVED = "RESOLVED"


@strawberry.type(description="One firing or resolving of an alert, with what decided it.")
class AlertEvent:
    id: strawberry.ID = strawberry.field(resolver=lambda root: strawberry.ID(str(root.id)))
    name: str
    state: AlertState
    severity: Severity
    message: str
    value: float | None
    threshold: float | None
    created_at: datetime


@strawberry.type(description="A page of the alert history, newest first.")
class AlertHistoryPage:
    events: list[AlertEvent]
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` for the next (older) page."
    )
    has_next_page: bool


@strawberry.type
class AlertAcknowledgement:
    name: str
    note: str
    covers_firing: bool = strawberry.field(
        description="False when the alert was not firing: the acknowledgement is history only."
    )


@strawberry.type
class AlertSilence:
    name: str
    until: datetime
    note: str


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


@strawberry.type(description="How often one label was counted: a field, a reason or a text.")
class LabelCount:
    label: str
    count: int


def _of(group: str, name: str, kind: Any, description: str) -> Any:
    def read(root: Any) -> Any:
        return getattr(getattr(root, group), name)

    read.__annotations__["return"] = kind
    return strawberry.field(resolver=read, description=description)


@strawberry.type(
    description="The business view over a window: what customers and partners did, and what "
    "went wrong for them. Counts from every worker, kept by the hour (a window starts at the "
    "top of its first hour)."
)
class BusinessStats:
    window_minutes: int
    jobs_published: int = _of("jobs", "published", int, "Jobs published.")
    jobs_cancelled: int = _of("jobs", "cancelled", int, "Jobs cancelled by their owner.")
    jobs_closed: int = _of("jobs", "closed", int, "Jobs closed by their owner.")
    jobs_expired: int = _of("jobs", "expired", int, "Jobs that expired unanswered.")
    jobs_rejected: int = strawberry.field(description="publishJob calls refused for their input.")
    rejected_fields: list[LabelCount] = strawberry.field(
        description="The fields most often at fault in refused publishes, most first: an input "
        "field (`postcode`, `contact.email`) or a question's key; names only, never values."
    )
    uploads_refused: list[LabelCount] = strawberry.field(
        description="Refused uploads by reason (INVALID_IMAGE, FILE_TOO_LARGE, RATE_LIMITED, "
        "UNAUTHENTICATED...), most first."
    )
    searches_without_match: int = strawberry.field(
        description="searchServices calls whose text matched nothing."
    )
    unmatched_searches: list[LabelCount] = strawberry.field(
        description="Their texts, most first: folded and shortened; texts that look like they "
        "hold an email address, a phone number or a postcode are not kept."
    )
    webhooks_pending: int = _of(
        "webhooks", "pending", int, "Webhook deliveries waiting, to enabled endpoints (now)."
    )
    webhooks_failed: int = _of(
        "webhooks", "failed", int, "Webhook deliveries given up on within the window."
    )
    webhook_oldest_pending_seconds: float | None = _of(
        "webhooks",
        "oldest_pending_seconds",
        float | None,
        "Age of the oldest waiting delivery (now); null when none waits.",
    )
