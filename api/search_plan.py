"""A compiled plan for the search box's document: one `searchServices(text:, first:)` field with
the match's plain fields.

A search box sends a request per pause in typing, each a new text: the response cache cannot
answer most of them, and graphql-core's general executor then costs more CPU than the search
(argument coercion, then completing every match's fields through Strawberry's hooks). A plan
reads the arguments, calls the same resolver (so the limits, the ranking, the lookup of each
match and the cache verdict are unchanged) and lays out the selected fields as the general path
would serialize them.

As with the other plans, one is compiled only for a document the general path has already run
without error, and only for exactly this shape; an argument the plan cannot read as graphql-core
would (a number for the text, a string for `first`) makes it step aside (`None`). An error of the
search itself (`first` out of range, search unavailable) is coded as the general path codes it.
`COMPILED_SEARCH=false` turns plans off.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    IntValueNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    Source,
    StringValueNode,
    TypeNode,
    VariableNode,
)
from graphql.type.scalars import GRAPHQL_MAX_INT, GRAPHQL_MIN_INT

from api.lookup_plans import MICRO_SERVICE_LEAVES
from api.plan_answers import PlanAnswer, RootField, root_field_position
from context import Context
from resolvers.suggestions import SEARCH_FIRST, ServiceMatchNode, find_services, path_of

MatchLeaf = Callable[[Context, ServiceMatchNode], Any]

# ServiceMatch's own fields as the general path serializes them.
_MATCH_LEAVES: dict[str, MatchLeaf] = {
    "score": lambda context, match: match.score,
    "matchedOn": lambda context, match: match.matched_on,
    "path": lambda context, match: path_of(context.app.catalogue, match.micro_service),
    "__typename": lambda context, match: "ServiceMatch",
}


@dataclass(frozen=True, slots=True)
class _Argument:
    """A literal value, or the variable that holds it."""

    value: Any
    variable: str | None

    def read(self, variables: Mapping[str, Any]) -> Any:
        return self.value if self.variable is None else variables.get(self.variable, self.value)


@dataclass(frozen=True, slots=True)
class SearchPlan:
    mutation: ClassVar[bool] = False
    field: RootField  # searchServices, as the document states it
    text: _Argument
    first: _Argument
    # Each match's response keys in selection order: a ServiceMatch leaf, or the microService
    # object's leaves.
    fields: tuple[tuple[str, MatchLeaf | tuple[tuple[str, Callable[[Any], Any]], ...]], ...]

    def cost(self, variables: Mapping[str, Any] | None) -> int:
        """The request's cost in the lookup budget, as `schema.limits.request_cost` counts."""
        return 1

    async def run(self, context: Context, variables: Mapping[str, Any] | None) -> PlanAnswer | None:
        """The response, or None when the general path must answer instead."""
        text = self.text.read(variables or {})
        first = self.first.read(variables or {})
        if (
            not isinstance(text, str)
            or type(first) is not int
            or not GRAPHQL_MIN_INT <= first <= GRAPHQL_MAX_INT
        ):
            # A missing or mistyped variable, or an Int past 32 bits: the general path's error.
            return None
        return await self.field.answer(
            context.request_id,
            find_services(context, text, first),
            lambda matches: self.render(context, matches),
        )

    def render(self, context: Context, matches: list[ServiceMatchNode]) -> list[dict[str, Any]]:
        rows = []
        for match in matches:
            row: dict[str, Any] = {}
            for key, leaf in self.fields:
                if isinstance(leaf, tuple):
                    record = match.micro_service
                    row[key] = {name: value(record) for name, value in leaf}
                else:
                    row[key] = leaf(context, match)
            rows.append(row)
        return rows


def compile_search_plan(
    document: DocumentNode, operation_name: str | None, query: str
) -> SearchPlan | None:
    """A plan for `document`'s operation when it is a plain searchServices, else None. `query`
    is the document's text, for the location of the field in errors."""
    if len(document.definitions) != 1:
        return None  # fragments, or several operations: the general path
    operation = document.definitions[0]
    if (
        not isinstance(operation, OperationDefinitionNode)
        or operation.operation is not OperationType.QUERY
        or operation.directives
    ):
        return None
    name = operation.name.value if operation.name else None
    if operation_name is not None and name != operation_name:
        return None
    declared: dict[str, str] = {}  # variable -> its type's name (String or Int)
    for definition in operation.variable_definitions or ():
        name = _scalar(definition.type)
        if name is None or definition.default_value is not None or definition.directives:
            return None
        declared[definition.variable.name.value] = name
    selections = operation.selection_set.selections
    if len(selections) != 1:
        return None
    field = selections[0]
    if (
        not isinstance(field, FieldNode)
        or field.name.value != "searchServices"
        or field.directives
        or field.selection_set is None
    ):
        return None
    arguments = {argument.name.value: argument for argument in field.arguments or ()}
    if not arguments.keys() <= {"text", "first"} or "text" not in arguments:
        return None
    text = _argument(arguments["text"], StringValueNode, "String", declared)
    first = (
        _argument(arguments["first"], IntValueNode, "Int", declared)
        if "first" in arguments
        else _Argument(SEARCH_FIRST, None)
    )
    if text is None or first is None:
        return None
    fields: list[tuple[str, MatchLeaf | tuple[tuple[str, Callable[[Any], Any]], ...]]] = []
    for selection in field.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives or selection.arguments:
            return None
        key = (selection.alias or selection.name).value
        if selection.name.value == "microService" and selection.selection_set is not None:
            leaves = []
            for leaf in selection.selection_set.selections:
                if (
                    not isinstance(leaf, FieldNode)
                    or leaf.name.value not in MICRO_SERVICE_LEAVES
                    or leaf.arguments
                    or leaf.directives
                    or leaf.selection_set is not None
                ):
                    return None
                leaves.append(
                    ((leaf.alias or leaf.name).value, MICRO_SERVICE_LEAVES[leaf.name.value])
                )
            if len({leaf_key for leaf_key, _ in leaves}) != len(leaves):
                return None
            fields.append((key, tuple(leaves)))
        elif selection.name.value in _MATCH_LEAVES and selection.selection_set is None:
            fields.append((key, _MATCH_LEAVES[selection.name.value]))
        else:
            return None
    if len({key for key, _ in fields}) != len(fields):
        return None  # merged selections: the general path's rules
    position = root_field_position(query)
    if position is None:
        return None
    return SearchPlan(
        field=RootField(
            operation_name=name,
            key=(field.alias or field.name).value,
            source=Source(query),
            position=position,
        ),
        text=text,
        first=first,
        fields=tuple(fields),
    )


def _scalar(declared: TypeNode) -> str | None:
    if isinstance(declared, NonNullTypeNode):
        declared = declared.type
    if isinstance(declared, NamedTypeNode) and declared.name.value in ("String", "Int"):
        return declared.name.value
    return None


def _argument(
    argument: ArgumentNode,
    literal: type[StringValueNode] | type[IntValueNode],
    type_name: str,
    declared: Mapping[str, str],
) -> _Argument | None:
    value = argument.value
    if isinstance(value, VariableNode):
        if declared.get(value.name.value) != type_name:
            return None
        default = SEARCH_FIRST if type_name == "Int" else None
        return _Argument(default, value.name.value)
    if isinstance(value, literal):
        return _Argument(int(value.value) if type_name == "Int" else value.value, None)
    return None
