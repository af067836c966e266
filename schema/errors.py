"""The one place where exceptions become GraphQL error codes.

Every error leaves with `extensions.code`, chosen by the error's type in `schema/codes.py`'s
table. Domain errors keep their message; anything unexpected is replaced by a generic message
with the request id, and its stack trace goes to the log only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import parse
from graphql.error import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types import ExecutionResult as StrawberryExecutionResult

from db.errors import is_transient
from domain.errors import (
    BadUserInputError,
    ConflictError,
    DomainError,
    ServiceUnavailableError,
)
from schema.codes import (
    CODES,
    InternalError,
    TooManyTokensError,
    ValidationFailedError,
    VariablesRejectedError,
    code_of,
    error_code,
)

log = logging.getLogger("jobwizard.errors")

# The code of a list argument past MAX_LIST_LENGTH (schema/limits/document.py).
BAD_USER_INPUT = CODES[BadUserInputError].code
# `extensions.reason` under BAD_USER_INPUT for a list argument past MAX_LIST_LENGTH.
LIST_TOO_LONG = "LIST_TOO_LONG"

SERVICE_UNAVAILABLE = CODES[ServiceUnavailableError].code
INTERNAL_SERVER_ERROR = CODES[InternalError].code
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


def _kind(error: GraphQLError, context: ExecutionContext | None) -> type[BaseException]:
    """The type whose entry in the table gives `error`'s code."""
    original = error.original_error
    if original is not None and code_of(type(original)) is not None:
        return type(original)
    if isinstance(original, GraphQLError):
        # graphql-core refusing an argument's value while executing the field (an explicit
        # null variable for a non-null argument with a default): the request's fault.
        return VariablesRejectedError
    if original is not None and is_transient(original) and error.path is not None:
        # A database fault no resolver classified (a broken connection, a timeout): the same
        # request may well succeed on retry, so it is not reported as our bug.
        return ServiceUnavailableError
    if is_unexpected(error):
        return InternalError
    if isinstance(error, GraphQLSyntaxError):
        return TooManyTokensError if _stopped_at_token_limit(error, context) else type(error)
    before_execution: Sequence[GraphQLError] = getattr(context, "pre_execution_errors", None) or ()
    if error.path is None and not any(error is found for found in before_execution):
        # Not from parsing or validation, and before any resolver: variable coercion.
        return VariablesRejectedError
    return ValidationFailedError


def _stopped_at_token_limit(error: GraphQLSyntaxError, context: ExecutionContext | None) -> bool:
    """Whether the token limit, not the grammar, stopped the parser: with twice the limit (a
    bounded second parse, on errors only) it gets further. Where the token past the limit is
    also a grammar error, the syntax error is what is reported."""
    query = getattr(context, "query", None)
    options = dict(getattr(context, "parse_options", None) or {})
    max_tokens = options.get("max_tokens")
    if not isinstance(query, str) or not isinstance(max_tokens, int):
        return False
    try:
        parse(query, **{**options, "max_tokens": 2 * max_tokens + 1})
    except GraphQLSyntaxError as wider:
        return wider.positions != error.positions
    return True


def _code_for(error: GraphQLError, context: ExecutionContext | None) -> str:
    if isinstance(error, ValidationFailedError):
        return error_code(error).code  # a request limit's refusal, by its type
    preset = (error.extensions or {}).get("code")
    if isinstance(preset, str) and error.original_error is None:
        return preset  # coded on an earlier pass
    return CODES[_kind(error, context)].code


def coded(
    error: GraphQLError,
    request_id: str | None,
    execution_context: ExecutionContext | None = None,
) -> GraphQLError:
    """`error` with its `extensions.code` (and details), masked when unexpected."""
    code = _code_for(error, execution_context)
    extensions: dict[str, Any] = dict(error.extensions or {})
    extensions["code"] = code
    message = error.message
    original = error.original_error
    if isinstance(original, BadUserInputError) and original.fields:
        extensions["fields"] = original.fields
    if isinstance(original, BadUserInputError) and original.reason:
        extensions["reason"] = original.reason
    if isinstance(original, ConflictError):
        extensions["currentVersion"] = original.current_version
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
            context = self.execution_context
            result.errors = [coded(error, request_id, context) for error in result.errors]


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
