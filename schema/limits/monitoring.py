"""The cost of the monitoring fields: the window-minutes of events they would scan."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    IntValueNode,
    OperationDefinitionNode,
    VariableNode,
)

from resolvers.monitoring import MAX_WINDOW_MINUTES
from schema.limits.fields import MAX_REPORTED_COUNT, fragments_of, sum_root_fields

# The fields that aggregate analytics_events (and businessStats, which scans jobs), with the
# window they scan when none is given: their cost is the minutes of events each one reads, so
# 100 aliases of a week-long window cost 100 times one, and a request past MONITORING_MAX_COST
# is refused before any of them runs.
_MONITORING_WINDOWS = {"lookupStats": 60, "lookupTimeline": 60, "businessStats": 1440}
_ALERTS = "alerts"


def monitoring_cost(
    document: DocumentNode, variables: Mapping[str, Any], alert_window_minutes: int
) -> int:
    """Window-minutes the monitoring fields of `document` would scan, summed over every
    occurrence (aliases and fragment spreads included)."""
    fragments = fragments_of(document)
    total = 0
    for operation in document.definitions:
        if not isinstance(operation, OperationDefinitionNode):
            continue
        defaults = {
            d.variable.name.value: d.default_value.value
            for d in operation.variable_definitions or ()
            if isinstance(d.default_value, IntValueNode)
        }

        def window(field: FieldNode, defaults: Mapping[str, str] = defaults) -> int:
            name = field.name.value
            if name == _ALERTS:
                return alert_window_minutes
            if name in _MONITORING_WINDOWS:
                return _window_of(field, variables, defaults, _MONITORING_WINDOWS[name])
            return 0

        total += sum_root_fields(operation.selection_set, fragments, window)
    return min(total, MAX_REPORTED_COUNT)


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
