"""A plan's variables, coerced as graphql-core coerces them, with the work that depends only on
the document done once when the plan is compiled.

graphql-core's `get_variable_values` reads every variable definition again on each request
(its type from the AST, its signature), which costs a lookup plan more than the rest of its
answer; here each variable's coercion is built once from its schema type: a scalar or enum by
its own `coerce_input_value`, lists and non-null as graphql-core wraps them, an input object by
graphql-core's `coerce_input_value` itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    OperationDefinitionNode,
    Undefined,
    VariableValues,
    coerce_input_value,
    get_argument_values,
    is_leaf_type,
    type_from_ast,
)

Coerce = Callable[[Any], Any]


class _Invalid(Exception):
    """A value graphql-core would refuse: the general path then answers with its error."""


@dataclass(frozen=True, slots=True)
class Variables:
    """An operation's variables: name, coercion, and whether a value is required."""

    coercions: tuple[tuple[str, Coerce, bool], ...]

    @classmethod
    def of(cls, schema: GraphQLSchema, operation: OperationDefinitionNode) -> Variables | None:
        coercions = []
        for definition in operation.variable_definitions or ():
            declared = type_from_ast(schema, definition.type)
            if declared is None:
                return None
            name = definition.variable.name.value
            coercions.append((name, coercion(declared), isinstance(declared, GraphQLNonNull)))  # type: ignore[arg-type]
        return cls(tuple(coercions))

    def coerce(self, raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The coerced values (a nullable variable not sent is left out, as graphql-core
        leaves it), or None when one would not coerce."""
        sent = raw or {}
        values: dict[str, Any] = {}
        for name, coerce, required in self.coercions:
            if name in sent:
                try:
                    values[name] = coerce(sent[name])
                except (_Invalid, GraphQLError, TypeError, ValueError):
                    return None
            elif required:
                return None
        return values


def coercion(declared: GraphQLInputType) -> Coerce:
    """graphql-core's coercion of a variable's value to `declared`, built once."""
    if isinstance(declared, GraphQLNonNull):
        inner = coercion(declared.of_type)  # never given None: checked here first

        def non_null(value: Any) -> Any:
            if value is None:
                raise _Invalid
            return inner(value)

        return non_null
    if isinstance(declared, GraphQLList):
        item = coercion(declared.of_type)

        def listed(value: Any) -> Any:
            if value is None:
                return None
            if isinstance(value, (list, tuple)):
                return [item(v) for v in value]
            return [item(value)]  # a lone value is a list of one

        return listed
    if is_leaf_type(declared):
        parse = declared.coerce_input_value

        def leaf(value: Any) -> Any:
            if value is None:
                return None
            parsed = parse(value)
            if parsed is Undefined:
                raise _Invalid
            return parsed

        return leaf

    def whole(value: Any) -> Any:  # input objects: graphql-core's own, field by field
        coerced = coerce_input_value(value, declared)
        if coerced is Undefined:
            raise _Invalid
        return coerced

    return whole


def arguments_of(
    field: GraphQLField, node: FieldNode, variables: dict[str, Any]
) -> dict[str, Any] | None:
    """The field's arguments as graphql-core passes them to a resolver (literals, variables and
    defaults), or None when they would not coerce."""
    try:
        return get_argument_values(field, node, VariableValues(sources={}, coerced=variables))
    except GraphQLError:
        return None
