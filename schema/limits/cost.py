"""A request's cost in the lookup budget (api/rate_limits.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    VariableNode,
)

from schema.limits.fields import MAX_REPORTED_COUNT, fragments_of, sum_root_fields


def request_cost(
    document: DocumentNode, variables: Mapping[str, Any] | None, operation_name: str | None
) -> int:
    """What a request costs in the lookup budget (api/rate_limits.py): one per root field of
    the operation that runs (each alias, and each time a fragment spreads it, one more), one per
    slug of a `microServices(slugs:)` list, one per 20 jobs a `myJobs` page may hold; at least
    one. Compiled plans count their cost here
    too, so that a plan costs what the same request costs on the general path."""
    values = variables or {}
    operation = _running_operation(document, operation_name)
    if operation is None:
        return 1
    total = sum_root_fields(
        operation.selection_set,
        fragments_of(document),
        lambda field: 0 if field.name.value == "__typename" else field_cost(field, values),
    )
    return min(max(total, 1), MAX_REPORTED_COUNT)


def fixed_cost(document: DocumentNode, operation_name: str | None) -> int | None:
    """The document's cost when no variable can change it (no root field's priced argument
    is a variable), so that it is worked out once per document; None otherwise."""
    operation = _running_operation(document, operation_name)
    if operation is not None and sum_root_fields(
        operation.selection_set, fragments_of(document), _prices_a_variable
    ):
        return None
    return request_cost(document, None, operation_name)


def _running_operation(
    document: DocumentNode, operation_name: str | None
) -> OperationDefinitionNode | None:
    """The operation that runs; others are the validator's concern."""
    return next(
        (
            d
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
            and (operation_name is None or (d.name is not None and d.name.value == operation_name))
        ),
        None,
    )


def _prices_a_variable(field: FieldNode) -> int:
    """1 when an argument `field_cost` reads is given as a variable, else 0."""
    return int(
        any(
            argument.name.value in _PRICED_ARGUMENTS and isinstance(argument.value, VariableNode)
            for argument in field.arguments or ()
        )
    )


# The arguments `field_cost` reads.
_PRICED_ARGUMENTS = frozenset({"slugs", "first"})

# myJobs costs one per this many jobs a page may hold: a page of 100 jobs and their photos is
# five default pages' work.
JOBS_PER_COST = 20


def _argument(field: FieldNode, name: str, variables: Mapping[str, Any]) -> Any:
    """The value of argument `name` when given as a literal or a variable; None otherwise."""
    for argument in field.arguments or ():
        if argument.name.value == name:
            value = argument.value
            if isinstance(value, VariableNode):
                return variables.get(value.name.value)
            if isinstance(value, IntValueNode):
                return int(value.value)
    return None


def field_cost(field: FieldNode, variables: Mapping[str, Any]) -> int:
    if field.name.value == "myJobs":
        first = _argument(field, "first", variables)
        size = first if isinstance(first, int) and not isinstance(first, bool) else JOBS_PER_COST
        # A page past the bound is refused by the field; it is priced as the largest one.
        return min(max(-(-size // JOBS_PER_COST), 1), 100 // JOBS_PER_COST)
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
