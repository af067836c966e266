"""Errors of the fields a plan completes, kept as graphql-core's executor keeps them: located at
the field or list item that raised, carried up while the positions above are non-null, recorded
at the first nullable one (which becomes null), and dropped once a position above is nulled."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLNonNull, GraphQLOutputType

# Where a value stands in the answer: response keys and list indexes from the root field down.
Path = tuple[str | int, ...]


class FieldFailure(Exception):
    """A field's error on its way up to the nearest nullable position."""

    def __init__(self, error: Exception, path: Path) -> None:
        super().__init__(error)
        self.error = error
        self.path = path


@dataclass(slots=True)
class Failures:
    """The errors of one answer, in the order graphql-core would list them."""

    recorded: list[FieldFailure] = field(default_factory=list)
    _nulled: set[Path | None] = field(default_factory=set)

    def add(self, failure: FieldFailure, position: Path | None) -> None:
        """Record `failure`, which made `position` null (None: the whole `data`)."""
        nulled = self._nulled
        if None in nulled:
            return
        if position is not None and any(position[:n] in nulled for n in range(1, len(position))):
            return  # below a position already nulled
        if position in nulled:
            return
        nulled.add(position)
        self.recorded.append(failure)


@dataclass(frozen=True, slots=True)
class Position:
    """A field or a list item of a given type: whether null may stand there, and graphql-core's
    words when a non-null one gets null."""

    non_null: bool
    null_message: str

    @classmethod
    def of(cls, output: GraphQLOutputType, parent: str, name: str) -> Position:
        return cls(
            isinstance(output, GraphQLNonNull),
            f"Cannot return null for non-nullable field {parent}.{name}.",
        )

    def failed(self, exc: Exception, failures: Failures, path: Path) -> None:
        """The value standing here after `exc`: null, unless the position is non-null, when the
        error goes up to the one above."""
        failure = exc if isinstance(exc, FieldFailure) else FieldFailure(exc, path)
        if self.non_null:
            raise failure
        failures.add(failure, path)

    def checked(self, value: Any, failures: Failures, path: Path) -> Any:
        if value is None and self.non_null:
            self.failed(TypeError(self.null_message), failures, path)
        return value

    async def guard(
        self,
        run: Callable[[Any, Any, Path], Awaitable[Any]],
        value: Any,
        info: Any,
        failures: Failures,
        path: Path,
    ) -> Any:
        """`run(value, info, path)` awaited, its errors handled as this position's."""
        try:
            completed = await run(value, info, path)
        except Exception as exc:
            self.failed(exc, failures, path)
            return None
        return self.checked(completed, failures, path)
