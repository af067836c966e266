"""The one selection walker of the compiled plans: how the general path would read and complete
each selected field, taken from the schema itself.

A field's value is read as Strawberry reads it (its default resolver, or its own resolver called
with the arguments Strawberry would pass), then completed as graphql-core completes it: a leaf
through its scalar's or enum's own output coercion, a list item by item, an object by walking its
selection again. An async resolver is awaited as graphql-core awaits it: the fields of an object
that wait run together, and an error is handled where graphql-core handles it
(api/plans/failures.py: located at its field, null where the schema allows it, else carried up).
What a plan cannot do
exactly that way (arguments, directives, fragments, abstract types, field extensions or
permissions) makes the walk give up at compile time, and the document stays with the general
path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
    get_nullable_type,
    is_leaf_type,
    print_ast,
)
from graphql.pyutils import gather_with_cancel
from strawberry import Schema
from strawberry.schema.schema_converter import get_arguments
from strawberry.types.field import StrawberryField

from api.plans.failures import Failures, Path, Position
from context import Context

# A field's value completed from its parent object, given the request's info.
Complete = Callable[[Any, "PlanInfo"], Any]
AsyncComplete = Callable[[Any, "PlanInfo", Path], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Awaits:
    """A completion with a resolver to await in it or below it: given the value's path, for the
    errors it may meet."""

    run: AsyncComplete


Completion = Complete | Awaits


@dataclass(frozen=True, slots=True)
class PlanInfo:
    """The `info` a plan hands the resolvers it calls. Resolvers in this codebase read the
    request's context from it and nothing else; a plan has no graphql-core Info to give."""

    context: Context
    failures: Failures = field(default_factory=Failures)  # the errors of nested fields


@dataclass(frozen=True, slots=True)
class Slot:
    """One response key of a selection: how its value is made, and what may stand there."""

    key: str
    complete: Completion
    position: Position


@dataclass(frozen=True, slots=True)
class Walker:
    """The schema, as Strawberry defines it and as graphql-core executes it."""

    schema: Schema
    # Completions of a root field's selection by (type, selection text): the same selection
    # under many aliases, or in many documents, is walked once and its closures shared.
    _selections: LRUCache[tuple[str, str], tuple[Slot, ...] | None] = field(
        default_factory=lambda: LRUCache(1024), compare=False, repr=False
    )

    @property
    def graphql(self) -> GraphQLSchema:
        # Strawberry exposes no public accessor for the graphql-core schema it builds.
        return self.schema._schema

    def root(self, operation: OperationDefinitionNode) -> GraphQLObjectType | None:
        kind = operation.operation.value
        return self.graphql.get_root_type(operation.operation) if kind != "subscription" else None

    def definition(self, parent: GraphQLObjectType, name: str) -> StrawberryField | None:
        return self.schema.get_field_for_type(name, parent.name)

    def complete(
        self, output: GraphQLOutputType, node: FieldNode, *, parent: str = "", nested: bool = False
    ) -> Completion | None:
        """How the general path completes a value of type `output` selected by `node` on the
        type named `parent` (a root field's; `nested` below one, walked with it rather than
        looked up by its own text, so that each selection of a document is printed and walked
        once)."""
        nullable = get_nullable_type(output)
        if isinstance(nullable, GraphQLList):
            item = self.complete(nullable.of_type, node, parent=parent, nested=nested)
            if item is None:
                return None
            if isinstance(item, Awaits):
                return _awaited_list(item, Position.of(nullable.of_type, parent, node.name.value))
            return lambda value, info: None if value is None else [item(v, info) for v in value]
        if is_leaf_type(nullable):
            if node.selection_set is not None:
                return None
            coerce = nullable.coerce_output_value
            return lambda value, info: None if value is None else coerce(value)
        if isinstance(nullable, GraphQLObjectType) and node.selection_set is not None:
            if nested:
                slots = self._walk(nullable, node.selection_set)
            else:
                slots = self.selection(nullable, node.selection_set)
            if slots is None:
                return None
            if any(isinstance(slot.complete, Awaits) for slot in slots):
                return _awaited_object(slots)
            fields = tuple((slot.key, slot.complete) for slot in slots)
            return lambda value, info: (
                None if value is None else {key: field(value, info) for key, field in fields}  # type: ignore[operator]
            )
        return None  # interfaces and unions: the general path resolves the type

    def selection(
        self, parent: GraphQLObjectType, selection_set: SelectionSetNode
    ) -> tuple[Slot, ...] | None:
        """Each response key of `selection_set` on `parent` with how its value is made."""
        key = (parent.name, print_ast(selection_set))
        if key not in self._selections:
            self._selections[key] = self._walk(parent, selection_set)
        return self._selections[key]

    def _walk(
        self, parent: GraphQLObjectType, selection_set: SelectionSetNode
    ) -> tuple[Slot, ...] | None:
        slots: list[Slot] = []
        for node in selection_set.selections:
            if not isinstance(node, FieldNode) or node.directives or node.arguments:
                return None  # fragments, @skip/@include, arguments: the general path's rules
            key = (node.alias or node.name).value
            name = node.name.value
            if name == "__typename":
                slots.append(Slot(key, _constant(parent.name), Position(True, "")))
                continue
            output = parent.fields.get(name)
            definition = self.definition(parent, name)
            if output is None or definition is None:
                return None
            read = _reader(self, definition)
            complete = self.complete(output.type, node, parent=parent.name, nested=True)
            if read is None or complete is None:
                return None
            position = Position.of(output.type, parent.name, name)
            slots.append(Slot(key, _field(definition, read, complete, output.type), position))
        if len({slot.key for slot in slots}) != len(slots):
            return None  # merged duplicate keys follow rules the general path knows best
        return tuple(slots)

    def call(
        self, definition: StrawberryField, source: Any, info: PlanInfo, arguments: dict[str, Any]
    ) -> Any:
        """The field's resolver called as Strawberry calls it: arguments converted to the
        resolver's Python types (input classes included), root and info where it asks."""
        args, kwargs = get_arguments(
            field=definition,
            source=source,
            info=info,  # type: ignore[arg-type]
            kwargs=arguments,
            config=self.schema.config,
            scalar_registry=self.schema.schema_converter.scalar_registry,
        )
        return definition.get_result(source, info, args, kwargs)  # type: ignore[arg-type]


def _constant(value: str) -> Complete:
    return lambda source, info: value


def _field(
    definition: StrawberryField, read: Complete, complete: Completion, output: GraphQLOutputType
) -> Completion:
    resolver = definition.base_resolver
    if (resolver is not None and resolver.is_async) or isinstance(complete, Awaits):
        return _awaited_field(read, resolver is not None and resolver.is_async, complete)
    if resolver is not None:
        return lambda source, info: complete(read(source, info), info)
    # The commonest fields, an attribute read and a leaf: fused, as a plan exists for speed.
    default, name = definition.default_resolver, definition.python_name
    nullable = get_nullable_type(output)
    if is_leaf_type(nullable):
        coerce = nullable.coerce_output_value

        def leaf(source: Any, info: PlanInfo) -> Any:
            value = default(source, name)
            return None if value is None else coerce(value)

        return leaf
    return lambda source, info: complete(default(source, name), info)


def _awaited_field(read: Complete, awaited: bool, complete: Completion) -> Awaits:
    """A field whose resolver is awaited, or whose value has such a field below it."""

    async def run(source: Any, info: PlanInfo, path: Path) -> Any:
        value = read(source, info)
        if awaited:
            value = await value
        if isinstance(complete, Awaits):
            return await complete.run(value, info, path)
        return complete(value, info)

    return Awaits(run)


async def _gathered(waiting: list[Coroutine[Any, Any, Any]]) -> list[Any]:
    """As graphql-core awaits an object's or a list's values: one directly, several together,
    the others cancelled when one fails."""
    if len(waiting) == 1:
        return [await waiting[0]]
    return await gather_with_cancel(*waiting)


def _awaited_object(slots: tuple[Slot, ...]) -> Awaits:
    async def run(value: Any, info: PlanInfo, path: Path) -> Any:
        if value is None:
            return None
        failures = info.failures
        result: dict[str, Any] = {}
        keys: list[str] = []
        waiting: list[Coroutine[Any, Any, Any]] = []
        try:
            for slot in slots:
                here = (*path, slot.key)
                complete = slot.complete
                if isinstance(complete, Awaits):
                    result[slot.key] = None  # in the selection's order
                    keys.append(slot.key)
                    waiting.append(slot.position.guard(complete.run, value, info, failures, here))
                    continue
                try:
                    completed = slot.position.checked(complete(value, info), failures, here)
                except Exception as exc:
                    slot.position.failed(exc, failures, here)
                    completed = None
                result[slot.key] = completed
        except BaseException:
            for coroutine in waiting:
                coroutine.close()  # never started: nothing of them ran
            raise
        result.update(zip(keys, await _gathered(waiting), strict=True))
        return result

    return Awaits(run)


def _awaited_list(item: Awaits, position: Position) -> Awaits:
    run_item = item.run

    async def run(value: Any, info: PlanInfo, path: Path) -> Any:
        if value is None:
            return None
        failures = info.failures
        waiting = [
            position.guard(run_item, v, info, failures, (*path, n)) for n, v in enumerate(value)
        ]
        return await _gathered(waiting) if waiting else []

    return Awaits(run)


def _reader(walker: Walker, definition: StrawberryField) -> Complete | None:
    """How the general path reads the field from its parent object, for a field without
    arguments (an async resolver's coroutine, to await); None when only the general path can
    (extensions, permissions)."""
    if definition.extensions or definition.permission_classes:
        return None
    if definition.base_resolver is None:
        default, name = definition.default_resolver, definition.python_name
        return lambda source, info: default(source, name)
    if definition.arguments:
        return None
    return lambda source, info: walker.call(definition, source, info, {})


def single_operation(
    document: DocumentNode, operation_name: str | None
) -> OperationDefinitionNode | None:
    """The operation that runs, for a document of operations alone (no fragments), without
    directives or variable defaults (what a partner's fixed document never needs); else None."""
    if not all(isinstance(d, OperationDefinitionNode) for d in document.definitions):
        return None
    operations = [
        d
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
        and (operation_name is None or (d.name is not None and d.name.value == operation_name))
    ]
    if len(operations) != 1 or operations[0].directives:
        return None
    operation = operations[0]
    if any(d.directives or d.default_value for d in operation.variable_definitions or ()):
        return None
    return operation
