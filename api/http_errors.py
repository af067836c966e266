"""Requests refused by the HTTP layer before GraphQL runs.

Each refusal is a type of its own; `schema/codes.py` gives every type its code and status, so
nothing here or in the endpoints writes a code down. `HTTPError` is the base all endpoints catch.
"""

from __future__ import annotations

from schema.codes import (
    BadRequestError,
    BatchingNotSupportedError,
    MethodNotAllowedError,
    NotAcceptableError,
    PayloadTooLargeError,
    PersistedQueryHashMismatchError,
    PersistedQueryNotFoundError,
    PersistedQueryNotSupportedError,
    UnreadableValueError,
    UnsupportedMediaTypeError,
)
from schema.codes import RequestRefusedError as HTTPError

__all__ = [
    "BadRequestError",
    "BatchingNotSupportedError",
    "HTTPError",
    "MethodNotAllowedError",
    "NotAcceptableError",
    "PayloadTooLargeError",
    "PersistedQueryHashMismatchError",
    "PersistedQueryNotFoundError",
    "PersistedQueryNotSupportedError",
    "UnreadableValueError",
    "UnsupportedMediaTypeError",
]
