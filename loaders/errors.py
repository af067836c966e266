"""The lookup's errors: the one module every caller of `MicroServiceLookup` catches from.

Each maps to one GraphQL code in `schema/codes.py`; callers that can degrade (the wizard,
publishJob) catch `LookupUnavailableError` and carry on without a UUID.
"""

from __future__ import annotations

from domain.catalogue import shown
from domain.errors import DomainError


class UUIDLookupError(DomainError):
    """A slug could not be turned into a micro service; `recoverable` says whether retrying
    later may succeed."""

    recoverable: bool = False


class MicroServiceNotFoundError(UUIDLookupError):
    """No active micro service has this slug: a definite answer, never retried."""

    recoverable = False

    def __init__(self, slug: str) -> None:
        super().__init__(f"No micro service has the slug '{shown(slug)}'.")
        self.slug = slug


class LookupUnavailableError(UUIDLookupError):
    """The database could not answer in time (breaker open, or retries spent): try later."""

    recoverable = True

    def __init__(self, message: str, *, cause_kind: str) -> None:
        super().__init__(message)
        # The underlying failure's class name (e.g. "ConnectionRefusedError", "BreakerOpen"),
        # reported in lookup events and logs.
        self.cause_kind = cause_kind
