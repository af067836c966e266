"""The one place where exceptions become GraphQL error codes.

Every error leaves with `extensions.code`. Domain errors keep their message; anything unexpected
is replaced by a generic message with the request id, and its stack trace goes to the log only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types import ExecutionResult as StrawberryExecutionResult

from db.errors import is_transient
from domain.errors import (
    BadUserInputError,
    DomainError,
    ForbiddenError,
    NotFoundError,
    ServiceUnavailableError,
    UnauthenticatedError,
)
from loaders.errors import LookupUnavailableError, MicroServiceNotFoundError

log = logging.getLogger("jobwizard.errors")

BAD_USER_INPUT = "BAD_USER_INPUT"
NOT_FOUND = "NOT_FOUND"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
# Request limits (schema/limits.py), rejected while validating, before any resolver runs. The
# codes of requests refused before GraphQL sees them are in api/http_errors.py.
MAX_DEPTH_EXCEEDED = "MAX_DEPTH_EXCEEDED"
MAX_ALIASES_EXCEEDED = "MAX_ALIASES_EXCEEDED"
MAX_TOKENS_EXCEEDED = "MAX_TOKENS_EXCEEDED"
INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
# Monitoring fields asking for more window-minutes than MONITORING_MAX_COST, in one request.
QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
# More publishJob fields in one document than MAX_MUTATIONS.
MAX_MUTATIONS_EXCEEDED = "MAX_MUTATIONS_EXCEEDED"
# Over the caller's lookup budget (api/rate_limits.py): HTTP 429 with Retry-After.
RATE_LIMITED = "RATE_LIMITED"
# `extensions.reason` under BAD_USER_INPUT for a list argument past MAX_LIST_LENGTH.
LIST_TOO_LONG = "LIST_TOO_LONG"

_CODES: dict[type[DomainError], str] = {
    # A lookup that could not be answered where no caller degraded it (catalogue fields):
    # the client may retry; cached slugs were still served.
    LookupUnavailableError: SERVICE_UNAVAILABLE,
    MicroServiceNotFoundError: NOT_FOUND,
    BadUserInputError: BAD_USER_INPUT,
    NotFoundError: NOT_FOUND,
    ServiceUnavailableError: SERVICE_UNAVAILABLE,
    UnauthenticatedError: UNAUTHENTICATED,
    ForbiddenError: FORBIDDEN,
}
_TOO_MANY_TOKENS = re.compile(r"^Syntax Error: Document contains more than \d+ tokens\b")
MASKED_MESSAGE = "Internal server error. Quote the request id when reporting it."


def request_id_of(execution_context: ExecutionContext | None) -> str | None:
    context = getattr(execution_context, "context", None)
    return getattr(context, "request_id", None)


def is_unexpected(error: GraphQLError) -> bool:
    """An error raised while resolving a field that is not one of ours: a bug or an outage we
    did not classify. Errors without a path come from parsing, validation or variable coercion
    before any resolver ran: they describe the client's request, not our failure."""
    original = error.original_error
    return (
        error.path is not None
        and not isinstance(original, DomainError | GraphQLError)
        and not (original is not None and is_transient(original))
    )


def _code_for(error: GraphQLError) -> str:
    original = error.original_error
    for kind, code in _CODES.items():
        if isinstance(original, kind):
            return code
    if isinstance(original, GraphQLError):
        # graphql-core refusing an argument's value while executing the field (an explicit
        # null variable for a non-null argument with a default): the request's fault.
        return BAD_USER_INPUT
    if original is not None and is_transient(original) and error.path is not None:
        # A database fault no resolver classified (a broken connection, a timeout): the same
        # request may well succeed on retry, so it is not reported as our bug.
        return SERVICE_UNAVAILABLE
    preset = (error.extensions or {}).get("code")
    if isinstance(preset, str) and original is None:
        return preset  # a validation rule of ours already chose the code (schema/limits.py)
    if is_unexpected(error):
        return INTERNAL_SERVER_ERROR
    if _TOO_MANY_TOKENS.match(error.message):
        return MAX_TOKENS_EXCEEDED
    if error.message.startswith("Syntax Error"):
        return GRAPHQL_PARSE_FAILED
    if error.message.startswith("Variable '$"):
        return BAD_USER_INPUT
    return GRAPHQL_VALIDATION_FAILED


def coded(error: GraphQLError, request_id: str | None) -> GraphQLError:
    """`error` with its `extensions.code` (and details), masked when unexpected."""
    code = _code_for(error)
    extensions: dict[str, Any] = dict(error.extensions or {})
    extensions["code"] = code
    message = error.message
    original = error.original_error
    if isinstance(original, BadUserInputError) and original.fields:
        extensions["fields"] = original.fields
    if isinstance(original, BadUserInputError) and original.reason:
        extensions["reason"] = original.reason
    if code == SERVICE_UNAVAILABLE:
        extensions["retryable"] = True
        if original is not None and not isinstance(original, DomainError):
            message = "The database is not answering right now; retry shortly."
    if code == INTERNAL_SERVER_ERROR:
        message = MASKED_MESSAGE
        extensions = {"code": code}
        original = None
    if request_id is not None and code in (INTERNAL_SERVER_ERROR, SERVICE_UNAVAILABLE):
        extensions["requestId"] = request_id
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=original,
        extensions=extensions,
    )


class ErrorCodes(SchemaExtension):
    """Rewrites every error of a result into its coded (and, where needed, masked) form."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if isinstance(result, GraphQLExecutionResult | StrawberryExecutionResult) and result.errors:
            request_id = request_id_of(self.execution_context)
            result.errors = [coded(error, request_id) for error in result.errors]


def log_errors(errors: list[GraphQLError], request_id: str | None) -> None:
    """Stack traces of unexpected errors to the log; expected ones at debug level only."""
    for error in errors:
        if is_unexpected(error):
            original = error.original_error
            log.error(
                "unexpected error in %s (request %s): %s",
                ".".join(map(str, error.path or ())) or "operation",
                request_id,
                error.message,
                exc_info=(type(original), original, original.__traceback__)
                if original is not None
                else None,
            )
        elif (
            error.path is not None
            and error.original_error is not None
            and is_transient(error.original_error)
        ):
            log.warning(
                "database fault in %s (request %s), answered SERVICE_UNAVAILABLE: %r",
                ".".join(map(str, error.path)),
                request_id,
                error.original_error,
            )
        else:
            log.debug("client error (request %s): %s", request_id, error.message)
