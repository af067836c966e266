"""A schema extension that times every GraphQL operation for /metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from monitoring.metrics import GRAPHQL_DURATION, sanitize_operation

# Operation names seen so far (bounded by sanitize_operation): one set for the process.
_known_operations: set[str] = set()


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
    GRAPHQL_DURATION.labels(
        operation=sanitize_operation(name, _known_operations),
        outcome="error" if failed else "success",
    ).observe(elapsed)
