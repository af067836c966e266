"""Compiled plans for the commonest document: micro services looked up by slug.

Most traffic is `microService(slug: ...)` fields, often many aliased in one document, each
asking for scalar fields only. graphql-core's general executor spends most of a request's CPU
on such a document (field collection, argument coercion, completion of every leaf) to do what a
plan can do directly: take the slugs, load them through the request's DataLoader (so the cache,
breaker, retries, lookup events and the one-statement batch all apply as before) and lay the
rows out under the response keys.

A plan is compiled only for a document the general path has already executed without any error
under this app's settings (so it parsed, validated and passed every request limit), and only
when every field of the operation is of that plain shape. Anything a plan cannot answer exactly
as the general path would — a missing or non-string variable, a lookup error — makes it step
aside (`None`), and the request takes the general path. `COMPILED_LOOKUPS=false` turns plans off.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    VariableNode,
    parse,
)

from db.records import MicroServiceRecord
from loaders.dataloaders import MicroServiceLoader

Leaf = Callable[[MicroServiceRecord], Any]

# MicroService's scalar fields as the general path serializes them.
_LEAVES: dict[str, Leaf] = {
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
    slug: str | None  # a literal slug, or
    variable: str | None  # the variable holding it
    leaves: tuple[tuple[str, Leaf], ...]


@dataclass(frozen=True, slots=True)
class LookupPlan:
    operation_name: str | None  # as the operation names itself, for metrics
    lookups: tuple[_Lookup, ...]

    def slugs(self, variables: Mapping[str, Any] | None) -> list[str] | None:
        """The slug of every field, or None when a variable is not a plain string."""
        found: list[str] = []
        for lookup in self.lookups:
            slug = (
                lookup.slug if lookup.variable is None else (variables or {}).get(lookup.variable)
            )
            if not isinstance(slug, str):
                return None  # missing or mistyped: the general path reports it properly
            found.append(slug)
        return found

    async def run(
        self, loader: MicroServiceLoader, variables: Mapping[str, Any] | None
    ) -> dict[str, Any] | None:
        """The response's `data`, or None when the general path must answer instead."""
        slugs = self.slugs(variables)
        if slugs is None:
            return None
        try:
            records = await loader.load_many(slugs)
        except Exception:
            return None  # per-field errors (e.g. lookups unavailable) are the general path's
        return {
            lookup.key: None
            if record is None
            else {name: leaf(record) for name, leaf in lookup.leaves}
            for lookup, record in zip(self.lookups, records, strict=True)
        }


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
    strings: set[str] = set()
    for definition in operation.variable_definitions or ():
        declared = definition.type
        if isinstance(declared, NonNullTypeNode):
            declared = declared.type
        if not isinstance(declared, NamedTypeNode) or declared.name.value != "String":
            return None
        if definition.default_value is not None or definition.directives:
            return None
        strings.add(definition.variable.name.value)
    lookups: list[_Lookup] = []
    for selection in operation.selection_set.selections:
        lookup = _lookup(selection, strings)
        if lookup is None:
            return None
        lookups.append(lookup)
    if len({lookup.key for lookup in lookups}) != len(lookups):
        return None  # merged duplicate keys follow rules the general path knows best
    name = operation.name.value if operation.name else None
    return LookupPlan(name, tuple(lookups))


def _lookup(selection: Any, variables: set[str]) -> _Lookup | None:
    if not isinstance(selection, FieldNode) or selection.name.value != "microService":
        return None
    if selection.directives or selection.selection_set is None:
        return None
    arguments = selection.arguments or ()
    if len(arguments) != 1 or arguments[0].name.value != "slug":
        return None
    value = arguments[0].value
    slug = variable = None
    if isinstance(value, StringValueNode):
        slug = value.value
    elif isinstance(value, VariableNode) and value.name.value in variables:
        variable = value.name.value
    else:
        return None
    leaves: list[tuple[str, Leaf]] = []
    for leaf in selection.selection_set.selections:
        if not isinstance(leaf, FieldNode) or leaf.name.value not in _LEAVES:
            return None
        if leaf.arguments or leaf.directives or leaf.selection_set is not None:
            return None
        leaves.append(((leaf.alias or leaf.name).value, _LEAVES[leaf.name.value]))
    if len({name for name, _ in leaves}) != len(leaves):
        return None
    key = (selection.alias or selection.name).value
    return _Lookup(key=key, slug=slug, variable=variable, leaves=tuple(leaves))


class LookupPlans:
    """Plans by (query text, operation name), including "no plan" verdicts, LRU-bounded.

    One per app: the plan of a document is only valid under the settings it was checked with.
    """

    def __init__(self, max_entries: int = 1000, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._max_entries = max_entries
        self._plans: OrderedDict[tuple[str, str | None], LookupPlan | None] = OrderedDict()

    def get(self, query: str, operation_name: str | None) -> LookupPlan | None:
        if not self.enabled:
            return None
        key = (query, operation_name)
        plan = self._plans.get(key)
        if plan is not None:
            self._plans.move_to_end(key)
        return plan

    def learn(self, query: str, operation_name: str | None) -> None:
        """Compile `query` once the general path has answered it without any error."""
        key = (query, operation_name)
        if not self.enabled or key in self._plans:
            return
        try:
            plan = compile_plan(parse(query), operation_name)
        except GraphQLError:
            plan = None
        self._plans[key] = plan
        if len(self._plans) > self._max_entries:
            self._plans.popitem(last=False)
