"""Settings of webhooks: the delivery schedule, timeouts, which addresses, how long rows stay."""

from __future__ import annotations

import re

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

_DELAY = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_schedule(text: str) -> tuple[float, ...]:
    """`5s,5m,30m,2h` as seconds; ValueError naming the bad entry."""
    delays = []
    for raw in text.split(","):
        match = _DELAY.fullmatch(raw.strip().lower())
        if match is None:
            raise ValueError(f"must be delays such as 5s,5m,2h; {raw.strip()!r} is not one")
        delays.append(float(match[1]) * _UNITS[match[2]])
    return tuple(delays)


class WebhookSettings(BaseSettings):
    """Webhooks: the dispatcher, its retries and limits, endpoints' bounds, retention."""

    webhook_dispatch: bool = Field(
        True,
        description="Run the webhook dispatcher in this process. Any number of processes and "
        "instances may run it: each claims deliveries no other holds.",
    )
    webhook_retry_schedule: str = Field(
        "5s,5m,30m,2h,5h,10h,14h,20h,24h",
        description="Delays before each retry of a failed delivery (units ms, s, m, h, d), "
        "each with up to a tenth of jitter; a delivery still failing after the last is FAILED.",
    )
    webhook_timeout_seconds: float = Field(
        10.0, gt=0.0, le=120.0, description="Seconds a delivery may take, connection included."
    )
    webhook_allow_insecure_urls: bool = Field(
        False,
        description="Allow http:// endpoints and loopback, private and link-local addresses "
        "(development and tests only: a partner could otherwise make the server call inside "
        "its own network).",
    )
    webhook_secret_overlap_hours: float = Field(
        24.0,
        ge=0.0,
        le=24.0 * 30,
        description="Hours the previous secret keeps signing beside the new one after "
        "rotateWebhookSecret.",
    )
    webhook_disable_after_days: float = Field(
        5.0,
        gt=0.0,
        le=365.0,
        description="An endpoint whose deliveries have failed for this many days without one "
        "success is disabled.",
    )
    webhook_retention_days: int = Field(
        30,
        ge=1,
        le=3650,
        description="Delivered and failed deliveries (and their events) are deleted this many "
        "days after they finished.",
    )
    webhook_concurrency: int = Field(
        32, ge=1, le=1000, description="Deliveries one process sends at once."
    )
    webhook_endpoint_concurrency: int = Field(
        4,
        ge=1,
        le=100,
        description="Deliveries in flight to one endpoint at once (a dispatcher claims no more "
        "for it), so one slow partner cannot hold every sender.",
    )
    webhook_poll_seconds: float = Field(
        0.5,
        gt=0.0,
        le=60.0,
        description="Seconds the dispatcher waits before looking again when nothing was due.",
    )
    webhook_max_endpoints_per_key: int = Field(
        20, ge=1, le=1000, description="Webhook endpoints one API key may have."
    )

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        parse_schedule(value)
        return value

    @property
    def webhook_retry_delays(self) -> tuple[float, ...]:
        return parse_schedule(self.webhook_retry_schedule)
