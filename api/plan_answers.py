"""What compiled plans answer: the response body, and when the resolver a plan calls raises, the
error as the general path would code, locate, log and lay it out for a non-null root field (so
`data` is null)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, Source, located_error, parse

from schema.errors import coded, log_errors


@dataclass(frozen=True, slots=True)
class PlanAnswer:
    body: dict[str, Any]  # the response: `data`, and `errors` when the resolver failed
    failed: bool


def root_field_position(query: str) -> int | None:
    """The offset of the first root field of `query`'s only operation (parsed again, with
    locations: plans are compiled from a document parsed without them)."""
    for definition in parse(query).definitions:
        if isinstance(definition, OperationDefinitionNode):
            field = definition.selection_set.selections[0]
            return field.loc.start if field.loc is not None else None
    return None


def field_error_body(
    exc: Exception, *, key: str, source: Source, position: int, request_id: str | None
) -> dict[str, Any]:
    """The response for a non-null root field `key` whose resolver raised `exc`."""
    located = located_error(exc, None, [key])
    error = coded(
        GraphQLError(
            located.message,
            source=source,
            positions=[position],
            path=located.path,
            original_error=located.original_error,
        ),
        request_id,
    )
    log_errors([error], request_id)
    return {"data": None, "errors": [error.formatted]}
