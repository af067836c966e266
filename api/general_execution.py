"""The general path of a GraphQL request (api/execution.py's step after the compiled plans): the
schema runs the document, and its result becomes the request's `Outcome`."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from starlette.responses import Response
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError  # no public name for it
from strawberry.types.graphql import OperationType

from api.http_errors import BadRequestError, MethodNotAllowedError
from api.protocol import GRAPHQL_RESPONSE_JSON
from api.request_state import Outcome, RequestState
from schema import document_cache
from schema.codes import CODES


def is_request_error(result: ExecutionResult) -> bool:
    """The request failed before execution (parse, validation, limits, variable coercion): no
    `data` entry then, and a 4xx under application/graphql-response+json."""
    if isinstance(result, PreExecutionError):
        return True
    return result.data is None and all(error.path is None for error in result.errors or ())


async def executed(state: RequestState) -> Response | None:
    """The schema runs what no plan answered."""
    if state.outcome is not None:
        return None
    params = state.params
    allowed = {OperationType.QUERY}
    if state.request.method == "POST":
        allowed.add(OperationType.MUTATION)
    try:
        result = await state.view.schema.execute(
            state.query,
            variable_values=params.variables,
            context_value=state.context,
            operation_name=params.operation_name,
            allowed_operation_types=allowed,
            operation_extensions=params.extensions,
        )
    except InvalidOperationTypeError:
        raise MethodNotAllowedError(
            "Mutations are accepted over POST only.", headers={"Allow": "POST"}
        ) from None
    except CannotGetOperationTypeError as exc:
        result = PreExecutionError(
            data=None,
            errors=[
                GraphQLError(
                    exc.as_http_error_reason(), extensions={"code": CODES[BadRequestError].code}
                )
            ],
        )
    except MissingQueryError:
        raise BadRequestError("The request has no 'query'.") from None

    failed_early = is_request_error(result)
    if not result.errors:
        state.http.plans.learn(state.query, params.operation_name)
        if state.sent is None:
            document = document_cache.document(
                state.query, {"max_tokens": state.http.settings.max_tokens}
            )
            plans = state.http.plans
            lifted = plans.literals.learn(state.query, document, plans.walker.graphql)
            if lifted is not None and lifted.mutation:
                # A mutation's lifted text is never run by the general path: its plan is
                # learned here, from the text it was lifted from having run without error.
                plans.learn(lifted.text, params.operation_name)
    state.validated = not failed_early
    body: dict[str, Any] = {}
    if not failed_early:
        body["data"] = result.data
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        body["extensions"] = result.extensions
    status = 400 if failed_early and state.media_type == GRAPHQL_RESPONSE_JSON else 200
    state.outcome = Outcome(body, status, None if result.errors else state.lookup)
    return None
