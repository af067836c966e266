"""What compiled plans answer: the response body, and the errors of the resolvers a plan calls as
the general path would code, locate, log and lay them out (a root field's own error makes `data`
null; a nested field's is handled where graphql-core handles it, api/plans/failures.py)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any, TypeVar

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLFormattedError,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    located_error,
    parse,
)

from api.plans.failures import Failures, FieldFailure
from monitoring.graphql import observe_operation
from schema.errors import coded, log_errors

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PlanAnswer:
    body: dict[str, Any]  # the response: `data`, and `errors` when a resolver failed
    failed: bool


@dataclass(frozen=True, slots=True)
class RootField:
    """The one root field a plan answers, as its document states it."""

    operation_name: str | None  # as the operation names itself, for metrics
    key: str  # the response key: the alias, else the field's name
    source: Source  # the document, for errors' `locations`
    position: int  # where the field starts in it
    non_null: bool = True  # whether an error reaching it nulls `data` or only the field

    async def answer(
        self,
        request_id: str,
        resolve: Awaitable[T],
        render: Callable[[T], Any],
        failures: Failures,
        sent: str | None = None,
    ) -> PlanAnswer:
        """Run the resolver, then lay its value out under the key (`render` may await the
        resolvers below it), with the errors met on the way as the general path would; timed
        for /metrics as the general path's operations are. `sent` is the text the client sent,
        when the plan's document is that text with its literals lifted: errors are located in
        it."""
        started = time.perf_counter()
        data: dict[str, Any] | None = None
        try:
            value = await resolve
        except Exception as exc:
            self._failed(FieldFailure(exc, (self.key,)), failures)
        else:
            try:
                rendered = render(value)
                if isawaitable(rendered):
                    rendered = await rendered
                data = {self.key: rendered}
            except FieldFailure as failure:
                data = self._failed(failure, failures)
        failed = bool(failures.recorded)
        observe_operation(self.operation_name, time.perf_counter() - started, failed=failed)
        body: dict[str, Any] = {"data": data}
        if failed:
            body["errors"] = self.errors(failures.recorded, request_id, sent)
        return PlanAnswer(body, failed=failed)

    def _failed(self, failure: FieldFailure, failures: Failures) -> dict[str, Any] | None:
        if self.non_null:
            failures.add(failure, None)
            return None
        failures.add(failure, (self.key,))
        return {self.key: None}

    def errors(
        self, failures: Sequence[FieldFailure], request_id: str | None, sent: str | None
    ) -> list[GraphQLFormattedError]:
        """The errors laid out as the general path's, logged as it logs them."""
        source = self.source if sent is None else Source(sent)
        located: list[GraphQLError] = []
        for failure in failures:
            keys = [key for key in failure.path if isinstance(key, str)]
            if sent is None and keys == [self.key]:
                position: int | None = self.position
            else:
                position = field_position(source.body, self.operation_name, keys)
            located.append(_coded(failure, source, position, request_id))
        log_errors(located, request_id)
        return [error.formatted for error in located]


def _coded(
    failure: FieldFailure, source: Source, position: int | None, request_id: str | None
) -> GraphQLError:
    located = located_error(failure.error, None, list(failure.path))
    return coded(
        GraphQLError(
            located.message,
            source=source,
            positions=None if position is None else [position],
            path=located.path,
            original_error=located.original_error,
        ),
        request_id,
    )


def field_position(query: str, operation_name: str | None, keys: Sequence[str]) -> int | None:
    """The offset in `query` of the field at response keys `keys` (the root field's first) of
    the operation that runs (parsed again, with locations: plans are compiled from a document
    parsed without them, and a lifted document is not the text its errors are located in)."""
    for definition in parse(query).definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None
            or (definition.name is not None and definition.name.value == operation_name)
        ):
            node = _field_at(definition.selection_set, keys)
            return None if node is None or node.loc is None else node.loc.start
    return None


def _field_at(selection_set: SelectionSetNode | None, keys: Sequence[str]) -> FieldNode | None:
    found: FieldNode | None = None
    for key in keys:
        if selection_set is None:
            return None
        found = next(
            (
                node
                for node in selection_set.selections
                if isinstance(node, FieldNode) and (node.alias or node.name).value == key
            ),
            None,
        )
        if found is None:
            return None
        selection_set = found.selection_set
    return found


def root_field_position(query: str, operation_name: str | None) -> int | None:
    """The offset of the first root field of `query`'s operation that runs."""
    for definition in parse(query).definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None
            or (definition.name is not None and definition.name.value == operation_name)
        ):
            field = definition.selection_set.selections[0]
            return field.loc.start if field.loc is not None else None
    return None
