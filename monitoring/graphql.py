"""A schema extension that times every GraphQL operation for /metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import Histogram
from strawberry.extensions import SchemaExtension

from monitoring.metrics import GRAPHQL_DURATION, sanitize_operation

# Operation names seen so far (bounded by sanitize_operation): one set for the process.
_known_operations: set[str] = set()
# The histogram's child per (name, outcome), for the names that are labels of their own
# (bounded as those are): `labels` takes a lock and builds its key on every call.
_children: dict[tuple[str | None, bool], Histogram] = {}


class OperationMetrics(SchemaExtension):
    """Observes each operation's duration under its name and outcome (success | error: any
    error in the result, including parse and validation errors)."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            context = self.execution_context
            try:
                name = context.operation_name
            except Exception:  # an unparsable document has no name to read
                name = None
            result = context.result
            errors = getattr(result, "errors", None) or context.pre_execution_errors
            observe_operation(name, elapsed, failed=bool(errors))


def observe_operation(name: str | None, elapsed: float, *, failed: bool) -> None:
    """One operation's duration, under its (bounded) name and outcome."""
    key = (name, failed)
    child = _children.get(key)
    if child is None:
        label = sanitize_operation(name, _known_operations)
        child = GRAPHQL_DURATION.labels(operation=label, outcome="error" if failed else "success")
        if label == (name or "anonymous"):  # not "other": the names it stands for are unbounded
            _children[key] = child
    child.observe(elapsed)
