"""A job's life and who may see or change it: statuses, outcomes, owners, listing cursors.

A job belongs to the customer who published it or to the API key that did. Its owner may read
it whole (contact details and address line included), change it while it is PUBLISHED, cancel
or close it; a key with jobs:read may read any job without its personal data; to anyone else a
job does not exist (NOT_FOUND, never FORBIDDEN: no oracle of which ids exist).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from uuid import UUID

from domain.api_keys import JOBS_READ, ApiKey
from domain.customers import Customer
from domain.errors import BadUserInputError, NotFoundError, UnauthenticatedError

Principal = ApiKey | Customer
MAX_CANCEL_REASON = 500
MAX_PAGE = 100
DEFAULT_PAGE = 20
# A cursor this API hands out is a few dozen characters; longer is refused before decoding.
_MAX_CURSOR = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class JobStatus(Enum):
    PUBLISHED = "PUBLISHED"
    CANCELLED = "CANCELLED"
    CLOSED = "CLOSED"
    EXPIRED = "EXPIRED"


class JobOutcome(Enum):
    HIRED = "HIRED"
    NO_LONGER_NEEDED = "NO_LONGER_NEEDED"
    OTHER = "OTHER"


def job_not_found() -> NotFoundError:
    """What every caller hears about a job it may not act on, whether or not it exists."""
    return NotFoundError("No such job.")


@dataclass(frozen=True, slots=True)
class Owner:
    """Who owns a job: the customer (issuer, subject) or the API key that published it."""

    api_key_id: UUID | None
    customer: Customer | None


def require_principal(principal: Principal | None, *, presented: bool) -> Principal:
    """`principal`, or UNAUTHENTICATED: without credentials, or with ones that are not valid."""
    if principal is None:
        raise UnauthenticatedError(
            "The credentials are not valid (unknown, revoked or expired)."
            if presented
            else "This needs an API key or a signed-in customer: send "
            "'Authorization: Bearer <key or access token>'."
        )
    return principal


def owns(principal: Principal | None, owner: Owner) -> bool:
    """Whether `principal` is the job's owner: it may act on it and see its personal data."""
    if isinstance(principal, ApiKey):
        return owner.api_key_id is not None and owner.api_key_id == principal.id
    if isinstance(principal, Customer):
        return owner.customer is not None and owner.customer == principal
    return False


def may_read(principal: Principal | None, owner: Owner) -> bool:
    """The owner reads its job; a key with jobs:read reads every job (without personal data)."""
    return owns(principal, owner) or (isinstance(principal, ApiKey) and principal.has(JOBS_READ))


def actor_of(principal: Principal) -> str:
    """The audit's actor kind of `principal`."""
    return "customer" if isinstance(principal, Customer) else "api_key"


def check_cancel_reason(raw: str | None) -> str | None:
    if raw is None:
        return None
    reason = raw.strip()
    if len(reason) > MAX_CANCEL_REASON:
        message = f"At most {MAX_CANCEL_REASON} characters."
        raise BadUserInputError(message, fields={"reason": message})
    if any(ord(c) < 32 and c not in "\n\t" for c in reason):
        message = "Control characters are not allowed."
        raise BadUserInputError(message, fields={"reason": message})
    return reason or None


def check_page_size(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        message = f"Must be between 1 and {MAX_PAGE}."
        raise BadUserInputError(f"first: {message}", fields={"first": message})
    return first


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in a newest-first listing: the last job seen, by (created_at, id)."""

    created_at: datetime
    id: UUID

    def encode(self) -> str:
        """Opaque: base64url of `<microseconds since the epoch>.<id in hex>`."""
        micros = (self.created_at - _EPOCH) // timedelta(microseconds=1)
        raw = f"{micros}.{self.id.hex}".encode("ascii")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        """The cursor `text` encodes (None for none); BAD_USER_INPUT at `after` otherwise."""
        if text is None:
            return None
        try:
            if len(text) <= _MAX_CURSOR:
                padded = text + "=" * (-len(text) % 4)
                raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
                micros, _, hex_id = raw.partition(".")
                if micros.isdigit() and len(hex_id) == 32:
                    when = _EPOCH + timedelta(microseconds=int(micros))
                    return cls(when, UUID(hex=hex_id))
        except (ValueError, UnicodeError, binascii.Error, OverflowError):
            pass
        message = "Not a cursor this API gave out."
        raise BadUserInputError(f"after: {message}", fields={"after": message})
