"""Compiled plans for the commonest documents: micro services looked up by slug.

Most traffic is `microService(slug: ...)` fields, often many aliased in one document, or one
`microServices(slugs: [...])`, each asking for plain fields only. graphql-core's general
executor spends most of a request's CPU on such a document (field collection, resolver calls
through Strawberry's hooks, completion of every leaf) to do what a plan can do directly: take the
slugs, hand them to the lookup pipeline in one call (`Loaders.micro_services_at_once`: the cache,
breaker, retries, lookup events and the one-statement batch all apply as before) and complete the
rows as the schema says (api/plans/selection.py).

Anything a plan cannot answer exactly as the general path would (a variable that does not
coerce, a null list, a list past the limit, a lookup error) makes it step aside (`None`), and the
request takes the general path. `COMPILED_LOOKUPS=false` turns these plans off.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from graphql import DocumentNode, FieldNode, OperationDefinitionNode, VariableNode

from api.plans.answers import PlanAnswer
from api.plans.inputs import Variables, arguments_of
from api.plans.selection import Awaits, Complete, PlanInfo, Walker
from context import Context
from db.records import MicroServiceRecord
from monitoring.graphql import observe_operation
from schema.limits import fixed_cost, request_cost
from schema.limits.document import has_list_variables, variable_list_errors

# The root fields a lookup plan answers, with the one argument it reads: microServices'
# catalogue filters are left to the general path.
_FIELDS = {"microService": ("slug", False), "microServices": ("slugs", True)}


@dataclass(frozen=True, slots=True)
class _Lookup:
    key: str  # the response key: the alias, else the field name
    many: bool  # microServices(slugs:) -> a list; microService(slug:) -> one object or null
    literal: Any  # the argument's value as graphql-core coerced it, when written in the document
    variable: str | None  # else the variable that holds it
    complete: Complete

    def wanted(self, variables: dict[str, Any]) -> list[str] | None:
        """This field's slugs, or None when they are not what the plan can answer."""
        value = self.literal if self.variable is None else variables.get(self.variable)
        if self.many:
            return value if isinstance(value, list) else None  # null lists everything
        return [value] if isinstance(value, str) else None

    def render(self, records: Sequence[MicroServiceRecord | None], info: PlanInfo) -> Any:
        if self.many:  # as the resolver answers: unknown slugs are left out
            return self.complete([record for record in records if record is not None], info)
        return self.complete(records[0], info)


@dataclass(frozen=True, slots=True)
class LookupPlan:
    mutation: ClassVar[bool] = False
    operation_name: str | None  # as the operation names itself, for metrics
    document: DocumentNode
    variables: Variables
    lookups: tuple[_Lookup, ...]
    fixed_cost: int | None  # the cost when no variable changes it
    list_variables: bool  # any list-typed variable, whose length the limit must check

    def cost(self, variables: Mapping[str, Any] | None) -> int:
        if self.fixed_cost is not None:
            return self.fixed_cost
        return request_cost(self.document, variables, self.operation_name)

    async def run(
        self, context: Context, variables: Mapping[str, Any] | None, sent: str | None = None
    ) -> PlanAnswer | None:
        """The response, or None when the general path must answer instead. (`sent` is for
        plans that report errors; a lookup plan leaves every error to the general path.)"""
        started = time.perf_counter()
        max_list_length = context.app.settings.max_list_length
        if self.list_variables and variable_list_errors(
            self.document, variables or {}, max_list_length
        ):
            return None  # the general path reports the limit
        coerced = self.variables.coerce(variables)
        if coerced is None:
            return None
        wanted: list[list[str]] = []
        for lookup in self.lookups:
            slugs = lookup.wanted(coerced)
            if slugs is None or len(slugs) > max_list_length:
                return None  # the general path reports the fault (or the limit) properly
            wanted.append(slugs)
        try:
            # One batch for every field: one statement at most.
            records = await context.loaders.micro_services_at_once(
                [slug for slugs in wanted for slug in slugs]
            )
        except Exception:
            return None  # per-field errors (e.g. lookups unavailable) are the general path's
        info = PlanInfo(context)
        data: dict[str, Any] = {}
        start = 0
        for lookup, slugs in zip(self.lookups, wanted, strict=True):
            data[lookup.key] = lookup.render(records[start : start + len(slugs)], info)
            start += len(slugs)
        observe_operation(self.operation_name, time.perf_counter() - started, failed=False)
        return PlanAnswer({"data": data}, failed=False)


def compile_lookups(
    walker: Walker,
    document: DocumentNode,
    operation_name: str | None,
    operation: OperationDefinitionNode,
) -> LookupPlan | None:
    """A plan for `operation` when every root field is a plain lookup, else None."""
    root = walker.root(operation)
    if root is None or operation.operation.value != "query":
        return None
    lookups: list[_Lookup] = []
    for node in operation.selection_set.selections:
        if not isinstance(node, FieldNode) or node.name.value not in _FIELDS or node.directives:
            return None
        argument, many = _FIELDS[node.name.value]
        arguments = node.arguments or ()
        if len(arguments) != 1 or arguments[0].name.value != argument:
            return None  # e.g. a category filter: the general path
        field = root.fields[node.name.value]
        complete = walker.complete(field.type, node)
        if complete is None or isinstance(complete, Awaits):
            return None  # a resolver to await below a lookup: the general path
        value = arguments[0].value
        literal: Any = None
        if not isinstance(value, VariableNode):
            # Coerced once: a literal is the same in every request.
            coerced = arguments_of(field, node, {})
            if coerced is None:
                return None
            literal = coerced.get(argument)
        variable = value.name.value if isinstance(value, VariableNode) else None
        key = (node.alias or node.name).value
        lookups.append(_Lookup(key, many, literal, variable, complete))
    if len({lookup.key for lookup in lookups}) != len(lookups):
        return None  # merged duplicate keys follow rules the general path knows best
    variables = Variables.of(walker.graphql, operation)
    if variables is None:
        return None
    return LookupPlan(
        operation_name=operation.name.value if operation.name else None,
        document=document,
        variables=variables,
        lookups=tuple(lookups),
        fixed_cost=fixed_cost(document, operation_name),
        list_variables=has_list_variables(document),
    )
