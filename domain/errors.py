"""Domain exceptions. Each maps to exactly one `extensions.code` in `schema/codes.py`."""

from __future__ import annotations

from collections.abc import Mapping

# Field errors itemised in one BAD_USER_INPUT at most; enough to mark a whole form at once.
MAX_FIELD_ERRORS = 20


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
        listed = list((fields or {}).items())
        # An answer must not be much larger than the request: however many faults a body holds,
        # only the first few are itemised, and the message says how many there are.
        self.fields: dict[str, str] = dict(listed[:MAX_FIELD_ERRORS])
        self.unlisted_fields = max(len(listed) - MAX_FIELD_ERRORS, 0)
        # A stable machine-readable sub-code (e.g. IDEMPOTENCY_KEY_REUSED) for clients to branch on.
        self.reason = reason


class NotFoundError(DomainError):
    """The thing asked for does not exist."""


class ConflictError(DomainError):
    """`expectedVersion` is not the job's version: someone changed it in between."""

    def __init__(self, message: str, *, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version


class NotEditableError(DomainError):
    """The job has left PUBLISHED: it cannot be changed, cancelled or closed any more."""


class ServiceUnavailableError(DomainError):
    """A dependency failed; the same request may succeed when retried."""


class UnauthenticatedError(DomainError):
    """No valid API key was presented (missing, unknown or revoked)."""


class ForbiddenError(DomainError):
    """The API key is valid but lacks the scope or ownership this needs."""


class UploadRejectedError(DomainError):
    """The uploaded file cannot be taken."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        # A stable sub-code for clients (EMPTY_FILE, INVALID_IMAGE, ...).
        self.reason = reason


class InvalidImageError(UploadRejectedError):
    """The file is empty, truncated or corrupt: it does not decode as the image it claims."""


class UnsupportedImageError(UploadRejectedError):
    """The file is not a JPEG, PNG or WebP image (a ZIP, an SVG, a GIF, text...)."""


class ImageTooLargeError(UploadRejectedError):
    """Too many bytes, or too many pixels once decoded (a decompression bomb)."""


class RateLimitedError(DomainError):
    """The caller used up a quota; it may try again after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CatalogueError(Exception):
    """The catalogue data file is invalid; the message names the offending entry."""
