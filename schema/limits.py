"""Request limits, enforced while the document is parsed and validated, before any resolver runs:
tokens (parser), depth, aliases, list-argument length, and introspection on/off.

The limits come from the request's settings (`context.services.settings`), so the schema stays
one object and each app may be configured differently.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    InlineFragmentNode,
    ListValueNode,
    NullValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_nullable_type,
)
from graphql.language import ArgumentNode, ValueNode
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from schema.errors import (
    BAD_USER_INPUT,
    INTROSPECTION_DISABLED,
    LIST_TOO_LONG,
    MAX_ALIASES_EXCEEDED,
    MAX_DEPTH_EXCEEDED,
)


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 12
    max_aliases: int = 200
    max_tokens: int = 5000
    max_list_length: int = 500
    introspection: bool = True

    @classmethod
    def of(cls, context: Any) -> Limits:
        """The limits configured for the app serving `context` (defaults without one)."""
        settings = getattr(getattr(context, "services", None), "settings", None)
        if settings is None:
            return cls()
        return cls(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            max_list_length=settings.max_list_length,
            introspection=settings.introspection,
        )


class RequestLimits(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        limits = Limits.of(context.context)
        context.parse_options["max_tokens"] = limits.max_tokens
        rules: list[type[ASTValidationRule]] = [
            _shape_rule(limits),
            _list_length_rule(limits.max_list_length, context.variables or {}),
        ]
        if not limits.introspection:
            rules.append(_NoIntrospection)
        context.validation_rules = (*context.validation_rules, *rules)
        yield


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


def _shape_rule(limits: Limits) -> type[ASTValidationRule]:
    class ShapeLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            definitions = context.document.definitions
            fragments = {
                d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)
            }
            memo: dict[str, _Shape] = {}
            total_aliases = 0
            for operation in definitions:
                if not isinstance(operation, OperationDefinitionNode):
                    continue
                shape = measure(operation.selection_set, fragments, memo)
                total_aliases += shape.aliases
                if shape.depth > limits.max_depth:
                    self.report_error(
                        _limit_error(
                            f"The query is {shape.depth} levels deep; the limit is "
                            f"{limits.max_depth}.",
                            operation,
                            MAX_DEPTH_EXCEEDED,
                            limits.max_depth,
                        )
                    )
            if total_aliases > limits.max_aliases:
                self.report_error(
                    _limit_error(
                        f"The document uses {total_aliases} aliases; the limit is "
                        f"{limits.max_aliases}.",
                        None,
                        MAX_ALIASES_EXCEEDED,
                        limits.max_aliases,
                    )
                )

    return ShapeLimits


def _list_length_rule(max_length: int, variables: Mapping[str, Any]) -> type[ASTValidationRule]:
    class ListLength(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            # A variable that is not sent takes its default from the operation.
            self._defaults: dict[str, ValueNode] = {
                d.variable.name.value: d.default_value
                for op in context.document.definitions
                if isinstance(op, OperationDefinitionNode)
                for d in op.variable_definitions or ()
                if d.default_value is not None
            }

        def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
            definition = self.context.get_argument()
            if definition is None or not isinstance(
                get_nullable_type(definition.type), GraphQLList
            ):
                return
            length = self._length(node.value)
            if length > max_length:
                self.report_error(
                    GraphQLError(
                        f"Argument '{node.name.value}' has {length} items; the limit is "
                        f"{max_length}.",
                        [node],
                        extensions={
                            "code": BAD_USER_INPUT,
                            "reason": LIST_TOO_LONG,
                            "limit": max_length,
                            "fields": {node.name.value: f"At most {max_length} items."},
                        },
                    )
                )

        def _length(self, value: ValueNode) -> int:
            if isinstance(value, VariableNode):
                name = value.name.value
                if name in variables:
                    sent = variables[name]
                    return len(sent) if isinstance(sent, list) else int(sent is not None)
                default = self._defaults.get(name)
                return 0 if default is None else self._length(default)
            if isinstance(value, ListValueNode):
                return len(value.values)
            return 0 if isinstance(value, NullValueNode) else 1  # a lone item coerces to [item]

    return ListLength


class _NoIntrospection(NoSchemaIntrospectionCustomRule):
    def report_error(self, error: GraphQLError) -> None:
        super().report_error(
            GraphQLError(
                "Introspection is disabled on this server.",
                error.nodes,
                extensions={"code": INTROSPECTION_DISABLED},
            )
        )


def _limit_error(
    message: str, node: OperationDefinitionNode | None, code: str, limit: int
) -> GraphQLError:
    return GraphQLError(
        message, None if node is None else [node], extensions={"code": code, "limit": limit}
    )
