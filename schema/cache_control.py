"""Cache hints declared on the schema, in the spirit of Apollo's `@cacheControl(maxAge, scope)`.

A hint sits on an object type (every field returning it) or on a field. An operation's answer
may be kept (whole-response cache, HTTP caching) only when **every** field it selects is
cacheable, and for the shortest `maxAge` among them:

- a root field (`Query.x`) is cacheable only with a hint of its own: each entry point opts in;
- any other field takes its own hint, else the hint of the object type it returns, else (a
  scalar, an enum, or a list of them) the hint in force at its parent;
- an object type without a hint, a `PRIVATE` hint or `maxAge: 0` makes the operation
  uncacheable; so do mutations, subscriptions and introspection (`__typename` excepted).

A new field becomes cacheable by declaring its hint: `strawberry.field(...,
directives=[CacheControl(max_age=CATALOGUE_MAX_AGE)])`, or by returning a hinted type.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
)
from strawberry.schema_directive import Location

# The catalogue changes only when seeded, and every server hears of a change at once; browsers
# and CDNs cannot, so this bounds how long they may show a catalogue without asking again.
CATALOGUE_MAX_AGE = 300


@strawberry.enum(name="CacheControlScope")
class CacheScope(Enum):
    PUBLIC = "PUBLIC"
    PRIVATE = "PRIVATE"


@strawberry.schema_directive(
    name="cacheControl",
    locations=[Location.FIELD_DEFINITION, Location.OBJECT],
    description="How long (seconds) and by whom an answer holding this field may be kept.",
)
class CacheControl:
    max_age: int | None = strawberry.UNSET  # unset arguments stay out of the SDL
    scope: CacheScope | None = strawberry.UNSET


class CacheClass(Enum):
    """Which share of the response cache an answer is kept in: each class has a budget of its
    own, so that one (searches: a new text is a new answer) cannot push out another's."""

    CATALOGUE = "catalogue"
    SEARCH = "search"
    OTHER = "other"


# The class of each hinted root field; a root field not named here is of the OTHER class.
ROOT_CLASSES = {
    "categories": CacheClass.CATALOGUE,
    "wizardQuestions": CacheClass.CATALOGUE,
    "searchServices": CacheClass.SEARCH,
}


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """What an operation's answer may be: kept for `max_age` seconds by anyone, or not kept,
    and in which class's share."""

    max_age: int
    kind: CacheClass = CacheClass.OTHER

    @property
    def cacheable(self) -> bool:
        return self.max_age > 0


UNCACHEABLE = CachePolicy(0)


@dataclass(frozen=True, slots=True)
class _Hint:
    max_age: int
    public: bool


def _hint_of(definition: Any) -> _Hint | None:
    """The `@cacheControl` on a Strawberry field or type definition, if any."""
    for directive in getattr(definition, "directives", None) or ():
        if isinstance(directive, CacheControl):
            return _Hint(
                max_age=directive.max_age or 0,  # UNSET is falsy
                public=directive.scope is not CacheScope.PRIVATE,
            )
    return None


def _field_hint(field: GraphQLField) -> _Hint | None:
    return _hint_of((field.extensions or {}).get("strawberry-definition"))


def _type_hint(kind: GraphQLObjectType) -> _Hint | None:
    return _hint_of((kind.extensions or {}).get("strawberry-definition"))


def hinted_root_fields(schema: GraphQLSchema) -> frozenset[str]:
    """The root fields with a hint of their own: a document naming none of them is not
    cacheable, which a substring test tells without parsing it."""
    root = schema.query_type
    if root is None:
        return frozenset()
    return frozenset(name for name, field in root.fields.items() if _field_hint(field))


def operation_policy(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> CachePolicy:
    """The cache policy of the operation `operation_name` of a validated `document`."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        operation = operations[0] if len(operations) == 1 else None
    else:
        operation = next((o for o in operations if o.name and o.name.value == operation_name), None)
    if operation is None or operation.operation is not OperationType.QUERY:
        return UNCACHEABLE
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    root = schema.query_type
    if root is None:
        return UNCACHEABLE
    walker = _Walker(schema, fragments)
    try:
        max_age = walker.selection(root, operation.selection_set, None)
    except RecursionError:
        # Fragments chained deeper than the interpreter's stack: graphql-core's validation
        # aborts on such a document too, so it never has an answer to keep.
        return UNCACHEABLE
    if not max_age:
        return UNCACHEABLE
    return CachePolicy(max_age, _class_of(_root_names(operation.selection_set, fragments)))


def _root_names(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]
) -> set[str]:
    """The root fields an operation selects, through fragments on the root type (the walk
    above has refused cycles and unknown fragments already)."""
    names: set[str] = set()
    pending, seen = [selection_set], set[str]()
    while pending:
        for node in pending.pop().selections:
            if isinstance(node, FieldNode):
                names.add(node.name.value)
            elif isinstance(node, InlineFragmentNode):
                pending.append(node.selection_set)
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
                seen.add(node.name.value)
                pending.append(fragments[node.name.value].selection_set)
    return names


def _class_of(roots: set[str]) -> CacheClass:
    """A search anywhere makes the answer a search's (its class is the unbounded one); only
    catalogue fields make it the catalogue's."""
    classes = {ROOT_CLASSES.get(name, CacheClass.OTHER) for name in roots - {"__typename"}}
    if CacheClass.SEARCH in classes:
        return CacheClass.SEARCH
    if classes == {CacheClass.CATALOGUE}:
        return CacheClass.CATALOGUE
    return CacheClass.OTHER


class _Walker:
    """Each selection set (a fragment's included) is walked once per parent type and inherited
    hint, its verdict kept: fragments that spread each other twice would otherwise be walked an
    exponential number of times, before the document is even validated."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.schema = schema
        self.fragments = fragments
        self._ages: dict[tuple[int, str, _Hint | None], int | None] = {}
        self._walking: set[str] = set()  # fragments being walked: a spread of one is a cycle

    def selection(
        self, parent: GraphQLObjectType, selection_set: SelectionSetNode, inherited: _Hint | None
    ) -> int | None:
        """The smallest max-age over the selections; None (uncacheable) as soon as one is."""
        key = (id(selection_set), parent.name, inherited)
        if key not in self._ages:
            self._ages[key] = self._walk(parent, selection_set, inherited)
        return self._ages[key]

    def _walk(
        self, parent: GraphQLObjectType, selection_set: SelectionSetNode, inherited: _Hint | None
    ) -> int | None:
        ages: list[int] = []
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                age = self.field(parent, node, inherited)
            elif isinstance(node, InlineFragmentNode):
                kind = parent
                if node.type_condition is not None:
                    named = self.schema.get_type(node.type_condition.name.value)
                    if not isinstance(named, GraphQLObjectType):
                        return None
                    kind = named
                age = self.selection(kind, node.selection_set, inherited)
            elif isinstance(node, FragmentSpreadNode):
                age = self.spread(node.name.value, inherited)
            else:
                return None
            if age is None:
                return None
            ages.append(age)
        return min(ages) if ages else None

    def spread(self, name: str, inherited: _Hint | None) -> int | None:
        fragment = self.fragments.get(name)
        if fragment is None or name in self._walking:
            return None  # unknown, or a cycle: validation refuses the document
        named = self.schema.get_type(fragment.type_condition.name.value)
        if not isinstance(named, GraphQLObjectType):
            return None
        self._walking.add(name)
        try:
            return self.selection(named, fragment.selection_set, inherited)
        finally:
            self._walking.discard(name)

    def field(
        self, parent: GraphQLObjectType, node: FieldNode, inherited: _Hint | None
    ) -> int | None:
        name = node.name.value
        if name == "__typename":
            return inherited.max_age if inherited is not None else None
        definition = parent.fields.get(name)
        if definition is None:
            return None
        named = get_named_type(definition.type)
        hint = _field_hint(definition)
        if hint is None and isinstance(named, GraphQLObjectType):
            hint = _type_hint(named)
        if parent is self.schema.query_type and _field_hint(definition) is None:
            return None  # every entry point opts in on its own
        if hint is None and is_leaf_type(named):
            hint = inherited
        if hint is None or not hint.public or hint.max_age <= 0:
            return None
        if node.selection_set is None:
            return hint.max_age
        if not isinstance(named, GraphQLObjectType):
            return None  # interfaces and unions: not used by cacheable fields yet
        below = self.selection(named, node.selection_set, hint)
        return None if below is None else min(below, hint.max_age)
