"""Rules for suggestions: the partner's customer reference and the bounds of each question."""

from __future__ import annotations

import hashlib
import hmac
import re
from uuid import UUID

from domain.customers import Customer
from domain.errors import BadUserInputError

MAX_CUSTOMER_REF_LENGTH = 100
MAX_FIRST = 20
MAX_DAYS = 365
# A UK postcode area is the one or two letters a postcode starts with (SW, M, EH).
_POSTCODE_AREA = re.compile(r"^[A-Z]{1,2}$")


def customer_ref_hash(api_key_id: UUID, customer_ref: str) -> str:
    """What is stored for a partner's customer id: HMAC-SHA256 keyed by the API key's id, so two
    partners' customer "42" are two customers, and the id itself never reaches the database."""
    return hmac.new(api_key_id.bytes, customer_ref.encode(), hashlib.sha256).hexdigest()


def customer_identity_hash(customer: Customer) -> str:
    """What is stored as the customer reference of a signed-in customer's job: the same for all
    their jobs, so that relatedServices learns from them too, and no identity in clear."""
    identity = f"{customer.issuer}\x00{customer.subject}".encode()
    return hmac.new(b"customer", identity, hashlib.sha256).hexdigest()


def check_customer_ref(customer_ref: str) -> str:
    ref = customer_ref.strip()
    if not ref or len(ref) > MAX_CUSTOMER_REF_LENGTH or "\x00" in ref:
        raise BadUserInputError(
            f"customerRef must be 1 to {MAX_CUSTOMER_REF_LENGTH} characters",
            fields={"customerRef": f"1 to {MAX_CUSTOMER_REF_LENGTH} characters"},
        )
    return ref


def check_first(first: int) -> int:
    if not 1 <= first <= MAX_FIRST:
        raise BadUserInputError(
            f"'first' must be between 1 and {MAX_FIRST}, got {first}",
            fields={"first": f"between 1 and {MAX_FIRST}"},
        )
    return first


def check_days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise BadUserInputError(
            f"'days' must be between 1 and {MAX_DAYS}, got {days}",
            fields={"days": f"between 1 and {MAX_DAYS}"},
        )
    return days


def check_postcode_area(area: str | None) -> str | None:
    """The area in capitals, or None for everywhere; BAD_USER_INPUT for anything else."""
    if area is None:
        return None
    normalised = area.strip().upper()
    if not _POSTCODE_AREA.match(normalised):
        raise BadUserInputError(
            f"postcodeArea must be the one or two letters a UK postcode starts with, got {area!r}",
            fields={"postcodeArea": "one or two letters"},
        )
    return normalised
