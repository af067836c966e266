"""A request's cost in the lookup budget (api/rate_limits.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    ListValueNode,
    OperationDefinitionNode,
    VariableNode,
)

from schema.limits.fields import fragments_of, root_fields


def request_cost(
    document: DocumentNode, variables: Mapping[str, Any], operation_name: str | None
) -> int:
    """What a request costs in the lookup budget (api/rate_limits.py): one per root field of
    the operation that runs (each alias one more), one per slug of a `microServices(slugs:)`
    list; at least one."""
    return cost_of(costed_fields(document, operation_name), variables)


def costed_fields(document: DocumentNode, operation_name: str | None) -> tuple[FieldNode, ...]:
    """The root fields of the operation that runs that count in its cost (compiled plans keep
    them, so that a plan's cost is counted by the same code as any request's)."""
    fragments = fragments_of(document)
    operations = [
        d
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
        and (operation_name is None or (d.name is not None and d.name.value == operation_name))
    ]
    return tuple(
        field
        for operation in operations[:1]  # the one that runs; others are the validator's concern
        for field in root_fields(operation.selection_set, fragments, frozenset())
        if field.name.value != "__typename"
    )


def cost_of(fields: Iterable[FieldNode], variables: Mapping[str, Any] | None) -> int:
    """The cost of `costed_fields` under the request's variables; at least one."""
    values = variables or {}
    return max(sum(field_cost(field, values) for field in fields), 1)


def field_cost(field: FieldNode, variables: Mapping[str, Any]) -> int:
    for argument in field.arguments or ():
        if argument.name.value != "slugs":
            continue
        value = argument.value
        if isinstance(value, ListValueNode):
            return max(len(value.values), 1)
        if isinstance(value, VariableNode):
            sent = variables.get(value.name.value)
            return max(len(sent), 1) if isinstance(sent, list) else 1
    return 1
