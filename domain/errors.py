"""Domain exceptions. Each maps to exactly one GraphQL `extensions.code` in `schema/errors.py`."""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """Base of every error the API reports to the client on purpose."""


class BadUserInputError(DomainError):
    """The request is well-formed GraphQL but its values are wrong."""

    def __init__(
        self,
        message: str,
        *,
        fields: Mapping[str, str] | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.fields: dict[str, str] = dict(fields or {})
        # A stable machine-readable sub-code (e.g. IDEMPOTENCY_KEY_REUSED) for clients to branch on.
        self.reason = reason


class NotFoundError(DomainError):
    """The thing asked for does not exist."""


class ServiceUnavailableError(DomainError):
    """A dependency failed; the same request may succeed when retried."""


class UnauthenticatedError(DomainError):
    """No valid API key was presented (missing, unknown or revoked)."""


class ForbiddenError(DomainError):
    """The API key is valid but lacks the scope or ownership this needs."""


class CatalogueError(Exception):
    """The catalogue data file is invalid; the message names the offending entry."""
