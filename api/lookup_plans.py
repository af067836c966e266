"""Compiled plans for the commonest documents: micro services looked up by slug.

Most traffic is `microService(slug: ...)` fields, often many aliased in one document, or one
`microServices(slugs: [...])`, each asking for scalar fields only. graphql-core's general
executor spends most of a request's CPU on such a document (field collection, argument
coercion, completion of every leaf) to do what a plan can do directly: take the slugs, load
them through the request's DataLoader (so the cache, breaker, retries, lookup events and the
one-statement batch all apply as before) and lay the rows out under the response keys.

A plan is compiled only for a document the general path has already executed without any error
under this app's settings (so it parsed, validated and passed every request limit), and only
when every field of the operation is of that plain shape. Anything a plan cannot answer exactly
as the general path would — a missing or non-string variable, a lookup error — makes it step
aside (`None`), and the request takes the general path. `COMPILED_LOOKUPS=false` turns plans off.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from graphql import (
    DocumentNode,
    FieldNode,
    ListTypeNode,
    ListValueNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    TypeNode,
    VariableNode,
)

from api.plan_answers import PlanAnswer
from context import Context
from db.records import MicroServiceRecord
from monitoring.graphql import observe_operation

Leaf = Callable[[MicroServiceRecord], Any]

# MicroService's scalar fields as the general path serializes them.
MICRO_SERVICE_LEAVES: dict[str, Leaf] = {
    "id": lambda record: str(record.id),
    "slug": lambda record: record.slug,
    "name": lambda record: record.name,
    "category": lambda record: record.category,
    "subcategory": lambda record: record.subcategory,
    "description": lambda record: record.description,
    "__typename": lambda record: "MicroService",
}


@dataclass(frozen=True, slots=True)
class _Lookup:
    key: str  # the response key: the alias, else the field name
    many: bool  # microServices(slugs:) -> a list; microService(slug:) -> one object or null
    slugs: tuple[str, ...] | None  # literal slugs, or
    variable: str | None  # the variable holding them (a string, or a list of strings)
    leaves: tuple[tuple[str, Leaf], ...]

    def wanted(self, variables: Mapping[str, Any]) -> list[str] | None:
        """This field's slugs, or None when the value is not what the plan can answer."""
        if self.variable is None:
            return list(self.slugs or ())
        value = variables.get(self.variable)
        if not self.many:
            return [value] if isinstance(value, str) else None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        return None  # null lists everything, a lone string coerces: the general path knows

    def render(self, records: Sequence[MicroServiceRecord | None]) -> Any:
        rows = [
            {name: leaf(record) for name, leaf in self.leaves} if record is not None else None
            for record in records
        ]
        if self.many:
            return [row for row in rows if row is not None]  # unknown slugs are left out
        return rows[0]


@dataclass(frozen=True, slots=True)
class LookupPlan:
    mutation: ClassVar[bool] = False
    operation_name: str | None  # as the operation names itself, for metrics
    lookups: tuple[_Lookup, ...]

    def cost(self, variables: Mapping[str, Any] | None) -> int:
        """The request's cost in the lookup budget, as `schema.limits.request_cost` counts."""
        total = 0
        for lookup in self.lookups:
            slugs = lookup.wanted(variables or {})
            total += max(len(slugs), 1) if slugs is not None else 1
        return max(total, 1)

    async def run(self, context: Context, variables: Mapping[str, Any] | None) -> PlanAnswer | None:
        """The response, or None when the general path must answer instead."""
        started = time.perf_counter()
        max_list_length = context.app.settings.max_list_length
        wanted: list[list[str]] = []
        for lookup in self.lookups:
            slugs = lookup.wanted(variables or {})
            if slugs is None or len(slugs) > max_list_length:
                return None  # the general path reports the fault (or the limit) properly
            wanted.append(slugs)
        try:
            # One load for every field: one batch, one statement at most.
            records = await context.loaders.micro_services.load_many(
                [slug for slugs in wanted for slug in slugs]
            )
        except Exception:
            return None  # per-field errors (e.g. lookups unavailable) are the general path's
        data: dict[str, Any] = {}
        start = 0
        for lookup, slugs in zip(self.lookups, wanted, strict=True):
            data[lookup.key] = lookup.render(records[start : start + len(slugs)])
            start += len(slugs)
        observe_operation(self.operation_name, time.perf_counter() - started, failed=False)
        return PlanAnswer({"data": data}, failed=False)


def compile_plan(document: DocumentNode, operation_name: str | None) -> LookupPlan | None:
    """A plan for `document`'s operation when it has the plain lookup shape, else None."""
    if not all(isinstance(d, OperationDefinitionNode) for d in document.definitions):
        return None  # fragments: left to the general path
    operations: Sequence[OperationDefinitionNode] = document.definitions  # type: ignore[assignment]
    if operation_name is not None:
        operations = [op for op in operations if op.name and op.name.value == operation_name]
    if len(operations) != 1:
        return None
    operation = operations[0]
    if operation.operation is not OperationType.QUERY or operation.directives:
        return None
    variables: dict[str, bool] = {}  # name -> is a list of strings
    for definition in operation.variable_definitions or ():
        kind = _string_or_list(definition.type)
        if kind is None or definition.default_value is not None or definition.directives:
            return None
        variables[definition.variable.name.value] = kind
    lookups: list[_Lookup] = []
    for selection in operation.selection_set.selections:
        lookup = _lookup(selection, variables)
        if lookup is None:
            return None
        lookups.append(lookup)
    if len({lookup.key for lookup in lookups}) != len(lookups):
        return None  # merged duplicate keys follow rules the general path knows best
    name = operation.name.value if operation.name else None
    return LookupPlan(name, tuple(lookups))


def _string_or_list(declared: TypeNode) -> bool | None:
    """False for `String`/`String!`, True for `[String!]`/`[String!]!`, None otherwise."""
    if isinstance(declared, NonNullTypeNode):
        declared = declared.type
    if isinstance(declared, NamedTypeNode):
        return False if declared.name.value == "String" else None
    if isinstance(declared, ListTypeNode):
        item = declared.type
        if isinstance(item, NonNullTypeNode) and isinstance(item.type, NamedTypeNode):
            return True if item.type.name.value == "String" else None
    return None


_FIELDS = {"microService": ("slug", False), "microServices": ("slugs", True)}


def _lookup(selection: Any, variables: Mapping[str, bool]) -> _Lookup | None:
    if not isinstance(selection, FieldNode) or selection.name.value not in _FIELDS:
        return None
    argument, many = _FIELDS[selection.name.value]
    if selection.directives or selection.selection_set is None:
        return None
    arguments = selection.arguments or ()
    if len(arguments) != 1 or arguments[0].name.value != argument:
        return None  # e.g. a category filter: the general path
    value = arguments[0].value
    slugs: tuple[str, ...] | None = None
    variable = None
    if not many and isinstance(value, StringValueNode):
        slugs = (value.value,)
    elif many and isinstance(value, ListValueNode):
        if not all(isinstance(item, StringValueNode) for item in value.values):
            return None
        slugs = tuple(item.value for item in value.values)  # type: ignore[attr-defined]
    elif isinstance(value, VariableNode) and variables.get(value.name.value) is many:
        variable = value.name.value
    else:
        return None
    leaves: list[tuple[str, Leaf]] = []
    for leaf in selection.selection_set.selections:
        if not isinstance(leaf, FieldNode) or leaf.name.value not in MICRO_SERVICE_LEAVES:
            return None
        if leaf.arguments or leaf.directives or leaf.selection_set is not None:
            return None
        leaves.append(((leaf.alias or leaf.name).value, MICRO_SERVICE_LEAVES[leaf.name.value]))
    if len({name for name, _ in leaves}) != len(leaves):
        return None
    key = (selection.alias or selection.name).value
    return _Lookup(key=key, many=many, slugs=slugs, variable=variable, leaves=tuple(leaves))
