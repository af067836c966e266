"""Request limits, enforced while the document is parsed and validated, before any resolver runs:
tokens (parser), the work of analysing the document (budget.py, checked before validation),
the document's shape (schema/limits/document.py), mutations per operation (mutations.py), the
monitoring fields' cost (monitoring.py); a request's cost in the lookup budget is counted in
cost.py.

The limits come from the request's settings (`context.app.settings`), so the schema stays
one object and each app may be configured differently.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError
from strawberry.extensions import SchemaExtension

from config import Settings
from schema.codes import QueryTooCostlyError
from schema.limits.budget import budget_error, document_work
from schema.limits.cost import fixed_cost, request_cost
from schema.limits.document import (
    NoIntrospection,
    list_length_rule,
    measure,
    shape_rule,
    variable_list_errors,
)
from schema.limits.fields import limit_error
from schema.limits.monitoring import monitoring_cost
from schema.limits.mutations import mutation_count_rule

__all__ = [
    "Limits",
    "RequestLimits",
    "document_work",
    "fixed_cost",
    "measure",
    "monitoring_cost",
    "request_cost",
]


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
    max_document_nodes: int = 10_000

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
            max_document_nodes=settings.max_document_nodes,
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
            # Set before validation runs, so it is skipped and these are the answer.
            context.pre_execution_errors = _refusals(document, context.variables or {}, limits)
        yield


def _refusals(
    document: DocumentNode, variables: dict[str, Any], limits: Limits
) -> list[GraphQLError] | None:
    """What refuses the document before validation: its analysis past the budget (then
    nothing else walks it), list variables past their limit, monitoring past its cost."""
    work = document_work(document, limits.max_document_nodes)
    if work > limits.max_document_nodes:
        return [budget_error(work, limits.max_document_nodes)]
    errors = variable_list_errors(document, variables, limits.max_list_length)
    cost = monitoring_cost(document, variables, limits.alert_window_minutes)
    if cost > limits.max_monitoring_cost:
        errors.append(
            limit_error(
                QueryTooCostlyError,
                f"The monitoring fields of this request would scan {cost} window-minutes; the "
                f"limit is {limits.max_monitoring_cost}. Ask for fewer fields or shorter windows.",
                None,
                cost=cost,
                limit=limits.max_monitoring_cost,
            )
        )
    return errors or None


@functools.cache
def _rules(limits: Limits) -> tuple[type[ASTValidationRule], ...]:
    rules: tuple[type[ASTValidationRule], ...] = (
        shape_rule(limits.max_depth, limits.max_aliases),
        list_length_rule(limits.max_list_length),
        mutation_count_rule(limits.max_mutations),
    )
    return rules if limits.introspection else (*rules, NoIntrospection)
