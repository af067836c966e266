"""Webhooks' rules: which events exist, what an endpoint may be, how a delivery is signed, when
it is tried again, and which addresses a delivery may connect to.

Signing follows the Standard Webhooks specification through its own library: the signature
covers `webhook-id`, `webhook-timestamp` and the body, and during a secret's rotation both the
old and the new secret sign (the specification's space-separated list).
"""

from __future__ import annotations

import base64
import ipaddress
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from standardwebhooks import Webhook

from domain.errors import BadUserInputError

JOB_EVENTS = ("job.published", "job.updated", "job.cancelled", "job.closed", "job.expired")
TEST_EVENT = "webhook.test"
EVENTS = (*JOB_EVENTS, TEST_EVENT)
MAX_URL_LENGTH = 2048
MAX_DESCRIPTION_LENGTH = 500
MAX_FILTER_VALUES = 100
SECRET_PREFIX = "whsec_"
_SECRET_BYTES = 32
# Filter values are catalogue slugs and postcode areas: short, lower-case or upper-case letters.
_MAX_FILTER_VALUE_LENGTH = 100


@dataclass(frozen=True, slots=True)
class LeadFilter:
    """Which other keys' jobs a `leads:read` endpoint hears about; an absent list does not
    narrow."""

    categories: tuple[str, ...] | None = None
    micro_services: tuple[str, ...] | None = None
    postcode_areas: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """A checked WebhookEndpointInput."""

    url: str
    events: tuple[str, ...]
    filter: LeadFilter | None
    description: str | None
    enabled: bool


def generate_secret() -> str:
    """A new signing secret, `whsec_` and 32 random bytes in base64, as the specification has
    it."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()


def check_url(url: str, *, allow_insecure: bool) -> str:
    """`url`, stripped, when it may be an endpoint: `https://` with a host (also `http://` when
    insecure URLs are allowed), no credentials, within the length bound. The address it names
    is checked again on every connection (`check_address`)."""
    url = url.strip()
    field = {"url": "Must be an https:// URL to a public address."}
    if len(url) > MAX_URL_LENGTH:
        raise BadUserInputError(
            f"The URL is longer than {MAX_URL_LENGTH} characters.", fields=field
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises on a malformed port
    except ValueError:
        raise BadUserInputError("The URL is not valid.", fields=field) from None
    schemes = ("https", "http") if allow_insecure else ("https",)
    if parts.scheme not in schemes:
        raise BadUserInputError("A webhook URL must start with https://.", fields=field)
    if not host:
        raise BadUserInputError("The URL has no host.", fields=field)
    if parts.username is not None or parts.password is not None:
        raise BadUserInputError("The URL must not carry credentials.", fields=field)
    if not allow_insecure:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if (address is not None and not is_public(address)) or host.lower() == "localhost":
            raise BadUserInputError("The URL must point to a public address.", fields=field)
    return url


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a delivery may connect to `address`: globally routable, so not loopback,
    private, link-local (where cloud metadata services answer), shared, reserved or multicast.
    IPv4 inside IPv6 (mapped, 6to4, NAT64) is judged by the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in ipaddress.IPv6Network("64:ff9b::/96"):
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            return is_public(inner)
    return address.is_global and not address.is_multicast


def check_events(events: Sequence[str]) -> tuple[str, ...]:
    """The subscribed event types, de-duplicated, each one we send."""
    unique = tuple(dict.fromkeys(e.strip() for e in events))
    unknown = [e for e in unique if e not in EVENTS]
    if unknown or not unique:
        raise BadUserInputError(
            f"Unknown event type {unknown[0]!r}." if unknown else "Name at least one event.",
            fields={"events": f"One or more of: {', '.join(EVENTS)}."},
        )
    return unique


def _values(name: str, values: Sequence[str] | None, *, upper: bool) -> tuple[str, ...] | None:
    if values is None:
        return None
    cleaned = tuple(dict.fromkeys(v.strip().upper() if upper else v.strip() for v in values))
    if len(cleaned) > MAX_FILTER_VALUES or any(
        not v or len(v) > _MAX_FILTER_VALUE_LENGTH for v in cleaned
    ):
        raise BadUserInputError(
            f"The filter's {name} must be up to {MAX_FILTER_VALUES} non-empty values.",
            fields={f"filter.{name}": "Up to 100 non-empty values."},
        )
    return cleaned


def check_filter(
    categories: Sequence[str] | None,
    micro_services: Sequence[str] | None,
    postcode_areas: Sequence[str] | None,
) -> LeadFilter:
    return LeadFilter(
        categories=_values("categories", categories, upper=False),
        micro_services=_values("microServices", micro_services, upper=False),
        postcode_areas=_values("postcodeAreas", postcode_areas, upper=True),
    )


def check_description(description: str | None) -> str | None:
    if description is None or not description.strip():
        return None
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise BadUserInputError(
            f"The description is longer than {MAX_DESCRIPTION_LENGTH} characters.",
            fields={"description": f"Up to {MAX_DESCRIPTION_LENGTH} characters."},
        )
    return description.strip()


def signature(secrets_: Sequence[str], msg_id: str, timestamp: datetime, body: bytes) -> str:
    """The `webhook-signature` header: one `v1,...` per secret, space-separated."""
    return " ".join(Webhook(s).sign(msg_id, timestamp, body) for s in secrets_)


def retry_delay(
    schedule: Sequence[float], attempts: int, retry_after: float | None = None
) -> float | None:
    """Seconds until the next attempt after `attempts` failed ones, or None: give up. The
    schedule's delay with up to a tenth of jitter (so a partner's recovery is not met by every
    delivery at once); a server's `Retry-After` instead when it asks for longer, bounded by
    the schedule's longest delay."""
    if attempts > len(schedule):
        return None
    delay = schedule[attempts - 1] * (1 + random.uniform(0, 0.1))
    if retry_after is not None:
        delay = max(delay, min(retry_after, max(schedule)))
    return delay


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A `Retry-After` header (seconds, or an HTTP date) as seconds from `now`; None when
    absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
