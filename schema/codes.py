"""The one table of error codes: each exception type the API reports, its `extensions.code` and
the HTTP status it answers with when it refuses a whole request.

GraphQL errors (`schema/errors.py`), requests refused by the HTTP layer before GraphQL runs
(`api/`) and the upload endpoints all look their code up here by the exception's type, never by
its message. A GraphQL field error travels inside a 200 (or a 4xx before execution, by the
GraphQL-over-HTTP rules); the status here is what a plain HTTP endpoint answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from graphql.error import GraphQLError, GraphQLSyntaxError

from domain.errors import (
    BadUserInputError,
    ConflictError,
    ForbiddenError,
    ImageTooLargeError,
    NotEditableError,
    NotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
    UnauthenticatedError,
    UnsupportedImageError,
    UploadRejectedError,
)
from loaders.errors import LookupUnavailableError, MicroServiceNotFoundError


class ErrorCode(NamedTuple):
    code: str
    status: int


class RequestRefusedError(Exception):
    """The HTTP layer refuses the request before GraphQL runs; its type chooses code and status."""

    def __init__(
        self,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        limit: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})
        self.limit = limit

    @property
    def code(self) -> str:
        return error_code(self).code

    @property
    def status(self) -> int:
        return error_code(self).status


class BadRequestError(RequestRefusedError):
    """The request is not a GraphQL-over-HTTP request this server can read."""


class UnreadableValueError(RequestRefusedError):
    """A value in the request the API cannot take at all (a NUL character)."""


class PayloadTooLargeError(RequestRefusedError):
    """The body is larger than the endpoint takes."""


class MethodNotAllowedError(RequestRefusedError):
    """The endpoint does not answer this HTTP method (or this operation over it)."""


class NotAcceptableError(RequestRefusedError):
    """None of the response types the client accepts can be served."""


class UnsupportedMediaTypeError(RequestRefusedError):
    """The body's content type or encoding is not one the endpoint reads."""


class BatchingNotSupportedError(RequestRefusedError):
    """A JSON array of operations: one operation per request."""


class PersistedQueryNotFoundError(RequestRefusedError):
    """A persisted query's hash the server does not know (the client sends the text next)."""


class PersistedQueryNotSupportedError(RequestRefusedError):
    """A persisted-query extension this server does not implement."""


class PersistedQueryHashMismatchError(RequestRefusedError):
    """The query text does not hash to the hash sent with it."""


class HeadersTooLargeError(RequestRefusedError):
    """The request line and headers exceed the bound (refused by the connection, not a view)."""


class TooManyTokensError(GraphQLSyntaxError):
    """A document past the token limit: graphql-core stops parsing it with a syntax error."""


class ValidationFailedError(GraphQLError):
    """A document that parsed but breaks a validation rule (graphql-core's or Strawberry's)."""


class VariablesRejectedError(GraphQLError):
    """Variables (or an argument's value) that cannot be coerced to their declared types."""


# The request limits' validation rules (`schema/limits.py`): a document past one is refused
# before any resolver runs.
class MaxDepthExceededError(ValidationFailedError):
    """Fields nested deeper than MAX_QUERY_DEPTH."""


class MaxAliasesExceededError(ValidationFailedError):
    """More aliased fields than MAX_ALIASES, through fragments."""


class MaxMutationsExceededError(ValidationFailedError):
    """More mutation fields in one document than MAX_MUTATIONS."""


class IntrospectionDisabledError(ValidationFailedError):
    """`__schema` or `__type` asked for while introspection is off."""


class QueryTooCostlyError(ValidationFailedError):
    """A document past MAX_DOCUMENT_NODES to analyse, or monitoring fields asking for more
    window-minutes than MONITORING_MAX_COST."""


class InternalError(Exception):
    """Anything unexpected: masked, with the request id; its trace goes to the log only."""


_BAD_USER_INPUT = "BAD_USER_INPUT"
_NOT_FOUND = "NOT_FOUND"
_SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
_PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
_UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"

# Looked up along the exception's class hierarchy: the most derived type listed wins.
CODES: dict[type[BaseException], ErrorCode] = {
    # Errors of the API's own rules, raised by resolvers and endpoints.
    BadUserInputError: ErrorCode(_BAD_USER_INPUT, 400),
    NotFoundError: ErrorCode(_NOT_FOUND, 404),
    MicroServiceNotFoundError: ErrorCode(_NOT_FOUND, 404),
    # A job changed since the caller read it (extensions.currentVersion), or one that has left
    # PUBLISHED and so cannot change at all.
    ConflictError: ErrorCode("CONFLICT", 409),
    NotEditableError: ErrorCode("NOT_EDITABLE", 409),
    # A lookup that could not be answered where no caller degraded it (catalogue fields): the
    # client may retry; cached slugs were still served.
    LookupUnavailableError: ErrorCode(_SERVICE_UNAVAILABLE, 503),
    ServiceUnavailableError: ErrorCode(_SERVICE_UNAVAILABLE, 503),
    UnauthenticatedError: ErrorCode("UNAUTHENTICATED", 401),
    ForbiddenError: ErrorCode("FORBIDDEN", 403),
    RateLimitedError: ErrorCode("RATE_LIMITED", 429),
    UploadRejectedError: ErrorCode(_BAD_USER_INPUT, 400),
    ImageTooLargeError: ErrorCode(_PAYLOAD_TOO_LARGE, 413),
    UnsupportedImageError: ErrorCode(_UNSUPPORTED_MEDIA_TYPE, 415),
    # Requests refused by the HTTP layer.
    BadRequestError: ErrorCode("BAD_REQUEST", 400),
    UnreadableValueError: ErrorCode(_BAD_USER_INPUT, 400),
    PayloadTooLargeError: ErrorCode(_PAYLOAD_TOO_LARGE, 413),
    MethodNotAllowedError: ErrorCode("METHOD_NOT_ALLOWED", 405),
    NotAcceptableError: ErrorCode("NOT_ACCEPTABLE", 406),
    UnsupportedMediaTypeError: ErrorCode(_UNSUPPORTED_MEDIA_TYPE, 415),
    BatchingNotSupportedError: ErrorCode("BATCHING_NOT_SUPPORTED", 400),
    # Under application/json this one answers 200, as Apollo-style clients expect.
    PersistedQueryNotFoundError: ErrorCode("PERSISTED_QUERY_NOT_FOUND", 400),
    PersistedQueryNotSupportedError: ErrorCode("PERSISTED_QUERY_NOT_SUPPORTED", 400),
    PersistedQueryHashMismatchError: ErrorCode("PERSISTED_QUERY_HASH_MISMATCH", 400),
    HeadersTooLargeError: ErrorCode("REQUEST_HEADER_FIELDS_TOO_LARGE", 431),
    # What graphql-core reports about the document itself.
    GraphQLSyntaxError: ErrorCode("GRAPHQL_PARSE_FAILED", 400),
    TooManyTokensError: ErrorCode("MAX_TOKENS_EXCEEDED", 400),
    ValidationFailedError: ErrorCode("GRAPHQL_VALIDATION_FAILED", 400),
    VariablesRejectedError: ErrorCode(_BAD_USER_INPUT, 400),
    MaxDepthExceededError: ErrorCode("MAX_DEPTH_EXCEEDED", 400),
    MaxAliasesExceededError: ErrorCode("MAX_ALIASES_EXCEEDED", 400),
    MaxMutationsExceededError: ErrorCode("MAX_MUTATIONS_EXCEEDED", 400),
    IntrospectionDisabledError: ErrorCode("INTROSPECTION_DISABLED", 400),
    QueryTooCostlyError: ErrorCode("QUERY_TOO_COSTLY", 400),
    InternalError: ErrorCode("INTERNAL_SERVER_ERROR", 500),
}


def code_of(kind: type[BaseException]) -> ErrorCode | None:
    """The entry of `kind` or of its nearest listed base class; None when none is listed."""
    for base in kind.__mro__:
        found = CODES.get(base)
        if found is not None:
            return found
    return None


def error_code(error: BaseException) -> ErrorCode:
    """`error`'s entry; anything the table does not list is an internal error."""
    return code_of(type(error)) or CODES[InternalError]
