"""Limits on the document's shape, checked by validation rules: depth, aliases, the length of
list arguments (literals here, variables before validation), and introspection on/off."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    InlineFragmentNode,
    ListTypeNode,
    ListValueNode,
    Node,
    NonNullTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableDefinitionNode,
    get_nullable_type,
)
from graphql.language import ArgumentNode
from graphql.validation import NoSchemaIntrospectionCustomRule

from schema.codes import (
    IntrospectionDisabledError,
    MaxAliasesExceededError,
    MaxDepthExceededError,
)
from schema.errors import BAD_USER_INPUT, LIST_TOO_LONG
from schema.limits.fields import fragments_of, limit_error


@dataclass(frozen=True, slots=True)
class _Shape:
    depth: int
    aliases: int


def measure(
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    memo: dict[str, _Shape] | None = None,
    visiting: frozenset[str] = frozenset(),
) -> _Shape:
    """Depth (levels of fields) and alias count of a selection set, fragments expanded.

    Each fragment is measured once (memo), so spreading a fragment many times costs nothing to
    measure while still counting its aliases once per spread; a fragment cycle (reported by the
    standard NoFragmentCycles rule) is not followed. Introspection fields (`__schema`, `__type`)
    count as one level: GraphiQL's own introspection query is deeper than any real query, and
    it is governed by INTROSPECTION instead.
    """
    memo = {} if memo is None else memo
    depth = aliases = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            aliases += selection.alias is not None
            inner = _Shape(0, 0)
            if selection.selection_set is not None:
                inner = measure(selection.selection_set, fragments, memo, visiting)
            introspection = selection.name.value.startswith("__")
            depth = max(depth, 1 if introspection else 1 + inner.depth)
            aliases += inner.aliases
        elif isinstance(selection, InlineFragmentNode):
            inner = measure(selection.selection_set, fragments, memo, visiting)
            depth, aliases = max(depth, inner.depth), aliases + inner.aliases
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in visiting:
                continue
            if name not in memo:
                memo[name] = measure(fragment.selection_set, fragments, memo, visiting | {name})
            depth, aliases = max(depth, memo[name].depth), aliases + memo[name].aliases
    return _Shape(depth, aliases)


def shape_rule(max_depth: int, max_aliases: int) -> type[ASTValidationRule]:
    class ShapeLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            definitions = context.document.definitions
            fragments = fragments_of(context.document)
            memo: dict[str, _Shape] = {}
            total_aliases = 0
            for operation in definitions:
                if not isinstance(operation, OperationDefinitionNode):
                    continue
                shape = measure(operation.selection_set, fragments, memo)
                total_aliases += shape.aliases
                if shape.depth > max_depth:
                    self.report_error(
                        limit_error(
                            MaxDepthExceededError,
                            f"The query is {shape.depth} levels deep; the limit is {max_depth}.",
                            operation,
                            limit=max_depth,
                        )
                    )
            if total_aliases > max_aliases:
                self.report_error(
                    limit_error(
                        MaxAliasesExceededError,
                        f"The document uses {total_aliases} aliases; the limit is {max_aliases}.",
                        None,
                        limit=max_aliases,
                    )
                )

    return ShapeLimits


def _too_long(name: str, length: int, max_length: int, node: Node) -> GraphQLError:
    return GraphQLError(
        f"Argument '{name}' has {length} items; the limit is {max_length}.",
        [node],
        extensions={
            "code": BAD_USER_INPUT,
            "reason": LIST_TOO_LONG,
            "limit": max_length,
            "fields": {name: f"At most {max_length} items."},
        },
    )


def list_length_rule(max_length: int) -> type[ASTValidationRule]:
    """List literals written in the document (values sent as variables: see below)."""

    class ListLength(ValidationRule):
        def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
            definition = self.context.get_argument()
            if definition is None or not isinstance(
                get_nullable_type(definition.type), GraphQLList
            ):
                return
            value = node.value
            if isinstance(value, ListValueNode) and len(value.values) > max_length:
                self.report_error(_too_long(node.name.value, len(value.values), max_length, node))

    return ListLength


def _list_variables(document: DocumentNode) -> Iterator[VariableDefinitionNode]:
    """The list-typed variables the operations of `document` declare."""
    for operation in document.definitions:
        if not isinstance(operation, OperationDefinitionNode):
            continue
        for definition in operation.variable_definitions or ():
            declared = definition.type
            if isinstance(declared, NonNullTypeNode):
                declared = declared.type
            if isinstance(declared, ListTypeNode):
                yield definition


def has_list_variables(document: DocumentNode) -> bool:
    """Whether `document` declares a list-typed variable: without one, `variable_list_errors`
    has nothing to find, whatever the variables."""
    return next(_list_variables(document), None) is not None


def variable_list_errors(
    document: DocumentNode, variables: Mapping[str, Any], max_length: int
) -> list[GraphQLError]:
    """List-typed variables longer than the limit: the value sent, or else the default.

    Only a list-typed variable can fill a list argument with more than one item (a lone value
    coerces to a one-item list), so checking the variables' own lengths is enough."""
    errors: list[GraphQLError] = []
    for definition in _list_variables(document):
        name = definition.variable.name.value
        if name in variables:
            sent = variables[name]
            length = len(sent) if isinstance(sent, list) else 0
        else:
            default = definition.default_value
            length = len(default.values) if isinstance(default, ListValueNode) else 0
        if length > max_length:
            errors.append(_too_long(name, length, max_length, definition))
    return errors


class NoIntrospection(NoSchemaIntrospectionCustomRule):
    def report_error(self, error: GraphQLError) -> None:
        super().report_error(
            limit_error(
                IntrospectionDisabledError, "Introspection is disabled on this server.", error.nodes
            )
        )
