"""Request limits, enforced while the document is parsed and validated, before any resolver runs:
tokens (parser), depth, aliases, list-argument length, and introspection on/off.

The limits come from the request's settings (`context.app.settings`), so the schema stays
one object and each app may be configured differently.
"""

from __future__ import annotations

import functools
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
    get_nullable_type,
)
from graphql.language import ArgumentNode, IntValueNode, VariableNode
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from config import Settings
from resolvers.monitoring import MAX_WINDOW_MINUTES
from schema.errors import (
    BAD_USER_INPUT,
    INTROSPECTION_DISABLED,
    LIST_TOO_LONG,
    MAX_ALIASES_EXCEEDED,
    MAX_DEPTH_EXCEEDED,
    MAX_MUTATIONS_EXCEEDED,
    QUERY_TOO_COSTLY,
)


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int
    max_aliases: int
    max_tokens: int
    max_list_length: int
    introspection: bool
    max_monitoring_cost: int = 0
    alert_window_minutes: int = 5
    max_mutations: int = 10

    @classmethod
    def of(cls, context: Any) -> Limits:
        """The limits configured for the app serving `context` (the settings' defaults when a
        context carries no app, as in `schema.execute` from a script)."""
        app = getattr(context, "app", None)
        return cls.from_settings(app.settings if app is not None else _default_settings())

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            max_list_length=settings.max_list_length,
            introspection=settings.introspection,
            max_monitoring_cost=settings.monitoring_max_cost,
            alert_window_minutes=settings.alert_window_minutes,
            max_mutations=settings.max_mutations,
        )


@functools.cache
def _default_settings() -> Settings:
    return Settings.from_env({})


class RequestLimits(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        limits = Limits.of(context.context)
        context.parse_options["max_tokens"] = limits.max_tokens
        # The same rule classes for the same limits, so that the document cache (keyed by
        # query text and rule set) can reuse a validation; what depends on the request's
        # variables is checked apart, in on_validate.
        context.validation_rules = (*context.validation_rules, *_rules(limits))
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            limits = Limits.of(context.context)
            variables = context.variables or {}
            errors = _variable_list_errors(document, variables, limits.max_list_length)
            cost = monitoring_cost(document, variables, limits.alert_window_minutes)
            if cost > limits.max_monitoring_cost:
                errors.append(
                    GraphQLError(
                        f"The monitoring fields of this request would scan {cost} "
                        f"window-minutes; the limit is {limits.max_monitoring_cost}. Ask for "
                        "fewer fields or shorter windows.",
                        extensions={
                            "code": QUERY_TOO_COSTLY,
                            "cost": cost,
                            "limit": limits.max_monitoring_cost,
                        },
                    )
                )
            if errors:
                # Set before validation runs, so it is skipped and these are the answer.
                context.pre_execution_errors = errors
        yield


@functools.cache
def _rules(limits: Limits) -> tuple[type[ASTValidationRule], ...]:
    rules: tuple[type[ASTValidationRule], ...] = (
        _shape_rule(limits.max_depth, limits.max_aliases),
        _list_length_rule(limits.max_list_length),
        _mutation_count_rule(limits.max_mutations),
    )
    return rules if limits.introspection else (*rules, _NoIntrospection)


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


def _shape_rule(max_depth: int, max_aliases: int) -> type[ASTValidationRule]:
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
                if shape.depth > max_depth:
                    self.report_error(
                        _limit_error(
                            f"The query is {shape.depth} levels deep; the limit is {max_depth}.",
                            operation,
                            MAX_DEPTH_EXCEEDED,
                            max_depth,
                        )
                    )
            if total_aliases > max_aliases:
                self.report_error(
                    _limit_error(
                        f"The document uses {total_aliases} aliases; the limit is {max_aliases}.",
                        None,
                        MAX_ALIASES_EXCEEDED,
                        max_aliases,
                    )
                )

    return ShapeLimits


def _mutation_count_rule(max_mutations: int) -> type[ASTValidationRule]:
    """Mutation fields per operation (aliases and fragments included): each one writes, and a
    document of 200 aliased publishJob would store 200 jobs in one request."""

    class MutationCount(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            definitions = context.document.definitions
            fragments = {
                d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)
            }
            for operation in definitions:
                if not isinstance(operation, OperationDefinitionNode):
                    continue
                if operation.operation.value != "mutation":
                    continue
                count = sum(
                    1
                    for field in _root_fields(operation.selection_set, fragments, frozenset())
                    if not field.name.value.startswith("__")
                )
                if count > max_mutations:
                    self.report_error(
                        _limit_error(
                            f"The mutation has {count} fields; the limit is {max_mutations} "
                            "per request.",
                            operation,
                            MAX_MUTATIONS_EXCEEDED,
                            max_mutations,
                        )
                    )

    return MutationCount


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


def _list_length_rule(max_length: int) -> type[ASTValidationRule]:
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


def _variable_list_errors(
    document: DocumentNode, variables: Mapping[str, Any], max_length: int
) -> list[GraphQLError]:
    """List-typed variables longer than the limit: the value sent, or else the default.

    Only a list-typed variable can fill a list argument with more than one item (a lone value
    coerces to a one-item list), so checking the variables' own lengths is enough."""
    errors: list[GraphQLError] = []
    for operation in document.definitions:
        if not isinstance(operation, OperationDefinitionNode):
            continue
        for definition in operation.variable_definitions or ():
            declared = definition.type
            if isinstance(declared, NonNullTypeNode):
                declared = declared.type
            if not isinstance(declared, ListTypeNode):
                continue
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


# The fields that aggregate analytics_events, with the window they scan when none is given:
# their cost is the minutes of events each one reads, so 100 aliases of a week-long window cost
# 100 times one, and a request past MONITORING_MAX_COST is refused before any of them runs.
_MONITORING_WINDOWS = {"lookupStats": 60, "lookupTimeline": 60}
_ALERTS = "alerts"


def monitoring_cost(
    document: DocumentNode, variables: Mapping[str, Any], alert_window_minutes: int
) -> int:
    """Window-minutes the monitoring fields of `document` would scan, summed over every
    occurrence (aliases and fragment spreads included)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    total = 0
    for operation in document.definitions:
        if not isinstance(operation, OperationDefinitionNode):
            continue
        defaults = {
            d.variable.name.value: d.default_value.value
            for d in operation.variable_definitions or ()
            if isinstance(d.default_value, IntValueNode)
        }
        for field in _root_fields(operation.selection_set, fragments, frozenset()):
            name = field.name.value
            if name == _ALERTS:
                total += alert_window_minutes
            elif name in _MONITORING_WINDOWS:
                total += _window_of(field, variables, defaults, _MONITORING_WINDOWS[name])
    return total


def request_cost(
    document: DocumentNode, variables: Mapping[str, Any], operation_name: str | None
) -> int:
    """What a request costs in the lookup budget (api/rate_limits.py): one per root field of
    the operation that runs (each alias one more), one per slug of a `microServices(slugs:)`
    list; at least one."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [
        d
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
        and (operation_name is None or (d.name is not None and d.name.value == operation_name))
    ]
    total = 0
    for operation in operations[:1]:  # the one that runs; others are the validator's concern
        for field in _root_fields(operation.selection_set, fragments, frozenset()):
            if field.name.value == "__typename":
                continue
            total += _slug_count(field, variables)
    return max(total, 1)


def _slug_count(field: FieldNode, variables: Mapping[str, Any]) -> int:
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


def _root_fields(
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    visiting: frozenset[str],
) -> Iterator[FieldNode]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments, visiting)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in visiting:
                yield from _root_fields(fragment.selection_set, fragments, visiting | {name})


def _window_of(
    field: FieldNode, variables: Mapping[str, Any], defaults: Mapping[str, str], default: int
) -> int:
    for argument in field.arguments or ():
        if argument.name.value != "windowMinutes":
            continue
        value = argument.value
        raw: Any = default
        if isinstance(value, IntValueNode):
            raw = value.value
        elif isinstance(value, VariableNode):
            raw = variables.get(value.name.value, defaults.get(value.name.value, default))
        try:
            # The resolver refuses windows out of range; here they cost at most the longest one.
            return min(max(int(raw), 1), MAX_WINDOW_MINUTES)
        except (TypeError, ValueError, OverflowError):
            return default  # a bad value is the resolver's (or coercion's) to report
    return default


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
