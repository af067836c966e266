"""Compiled plans for a document of one root field whose own resolver does the work: the
publish partners send (`publishJob(input: $input)`) and the search box's `searchServices`.

graphql-core's general executor spends more CPU on such a request than the work itself does:
coercing the arguments, then resolving and completing every field through Strawberry's hooks.
A plan coerces the variables and arguments with graphql-core's own functions, converts them into
the resolver's Python types (`PublishJobInput` included) with Strawberry's, calls the field's own
resolver (so the key check, validation, idempotency, storage, the search's limits and ranking all
apply unchanged) and completes the answer as the schema says (api/plans/selection.py).

Arguments that would not coerce make the plan step aside (`None`) before anything runs, and the
general path reports the fault. An error of the resolver itself (a rejected answer, a missing
scope, the database down, `first` out of range) is coded by `schema.errors` as the general path
codes it: the request is not run twice. `COMPILED_PUBLISH=false` and `COMPILED_SEARCH=false` turn
these plans off.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLField,
    GraphQLNonNull,
    OperationDefinitionNode,
    Source,
)
from strawberry.types.field import StrawberryField

from api.plans.answers import PlanAnswer, RootField, root_field_position
from api.plans.inputs import Variables, arguments_of
from api.plans.selection import Awaits, Completion, PlanInfo, Walker
from context import Context
from schema.limits import request_cost
from schema.limits.document import variable_list_errors

# The root fields these plans answer, by operation type.
PUBLISH = ("mutation", "publishJob")
SEARCH = ("query", "searchServices")


@dataclass(frozen=True, slots=True)
class ResolverPlan:
    mutation: bool  # a mutation plan answers POST only: over GET the general path refuses it
    field: RootField  # the root field, as the document states it
    walker: Walker
    document: DocumentNode
    variables: Variables
    graphql_field: GraphQLField
    node: FieldNode
    definition: StrawberryField
    complete: Completion

    def cost(self, variables: Mapping[str, Any] | None) -> int:
        return request_cost(self.document, variables, self.field.operation_name)

    async def run(
        self, context: Context, variables: Mapping[str, Any] | None, sent: str | None = None
    ) -> PlanAnswer | None:
        """The response, or None when the general path must answer instead (before anything
        ran). `sent`: the client's text, when this plan's document is it with literals lifted."""
        limit = context.app.settings.max_list_length
        if variable_list_errors(self.document, variables or {}, limit):
            return None  # the general path reports the limit
        coerced = self.variables.coerce(variables)
        if coerced is None:
            return None
        arguments = arguments_of(self.graphql_field, self.node, coerced)
        if arguments is None:
            return None
        info = PlanInfo(context)
        resolve: Awaitable[Any] = self.walker.call(self.definition, None, info, arguments)
        complete = self.complete
        if isinstance(complete, Awaits):
            path = (self.field.key,)
            return await self.field.answer(
                context.request_id,
                resolve,
                lambda value: complete.run(value, info, path),
                info.failures,
                sent,
            )
        return await self.field.answer(
            context.request_id, resolve, lambda value: complete(value, info), info.failures, sent
        )


def compile_resolved(
    walker: Walker,
    document: DocumentNode,
    operation_name: str | None,
    operation: OperationDefinitionNode,
    query: str,
    fields: frozenset[tuple[str, str]],
) -> ResolverPlan | None:
    """A plan for `operation` when it is one of `fields` alone, plainly selected, else None.
    `query` is the document's text, for the location of the field in errors."""
    root = walker.root(operation)
    selections = operation.selection_set.selections
    if root is None or len(selections) != 1:
        return None
    node = selections[0]
    kind = operation.operation.value
    if not isinstance(node, FieldNode) or (kind, node.name.value) not in fields:
        return None
    graphql_field = root.fields.get(node.name.value)
    definition = walker.definition(root, node.name.value)
    if node.directives or graphql_field is None or definition is None:
        return None
    resolver = definition.base_resolver
    if resolver is None or not resolver.is_async or definition.extensions:
        return None
    if definition.permission_classes:
        return None
    complete = walker.complete(graphql_field.type, node, parent=root.name)
    position = root_field_position(query, operation_name)
    variables = Variables.of(walker.graphql, operation)
    if complete is None or position is None or variables is None:
        return None
    return ResolverPlan(
        mutation=kind == "mutation",
        field=RootField(
            operation_name=operation.name.value if operation.name else None,
            key=(node.alias or node.name).value,
            source=Source(query),
            position=position,
            non_null=isinstance(graphql_field.type, GraphQLNonNull),
        ),
        walker=walker,
        document=document,
        variables=variables,
        graphql_field=graphql_field,
        node=node,
        definition=definition,
        complete=complete,
    )
