"""What compiled plans answer: the response body, and when the resolver a plan calls raises, the
error as the general path would code, locate, log and lay it out for a non-null root field (so
`data` is null)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import GraphQLError, OperationDefinitionNode, Source, located_error, parse

from monitoring.graphql import observe_operation
from schema.errors import coded, log_errors

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PlanAnswer:
    body: dict[str, Any]  # the response: `data`, and `errors` when the resolver failed
    failed: bool


@dataclass(frozen=True, slots=True)
class RootField:
    """The one root field a plan answers, as its document states it."""

    operation_name: str | None  # as the operation names itself, for metrics
    key: str  # the response key: the alias, else the field's name
    source: Source  # the document, for errors' `locations`
    position: int  # where the field starts in it

    async def answer(
        self, request_id: str, resolve: Awaitable[T], render: Callable[[T], Any]
    ) -> PlanAnswer:
        """Run the resolver, then lay its value out under the key, or its error as the general
        path would; timed for /metrics as the general path's operations are."""
        started = time.perf_counter()
        try:
            value = await resolve
        except Exception as exc:
            body = field_error_body(
                exc, key=self.key, source=self.source, position=self.position, request_id=request_id
            )
            observe_operation(self.operation_name, time.perf_counter() - started, failed=True)
            return PlanAnswer(body, failed=True)
        observe_operation(self.operation_name, time.perf_counter() - started, failed=False)
        return PlanAnswer({"data": {self.key: render(value)}}, failed=False)


def root_field_position(query: str, operation_name: str | None) -> int | None:
    """The offset of the first root field of `query`'s operation that runs (parsed again, with
    locations: plans are compiled from a document parsed without them)."""
    for definition in parse(query).definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None
            or (definition.name is not None and definition.name.value == operation_name)
        ):
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
