"""The budget of work one document may cost to analyse, checked before anything else walks it.

Validation and every walk over a document (the limits, cache hints, plans) grow with the
document as fragments expand it, and graphql-core's field-merging check compares every pair of
fields that answer the same key in the same place. Both are counted here, with fragments
expanded and same-key fields merged as execution merges them, and the count stops as soon as it
passes the budget: the check costs at most the budget, whatever the document.
"""

from __future__ import annotations

from collections.abc import Mapping

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from schema.codes import QueryTooCostlyError
from schema.limits.fields import fragments_of, limit_error

# The fragments a selection set was reached through, and a selection set with them.
_Path = frozenset[str]
_Located = tuple[SelectionSetNode, _Path]


class _Exhausted(Exception):
    """The count passed the budget."""


def document_work(document: DocumentNode, budget: int) -> int:
    """The work of analysing `document`, counted up to just past `budget`: one per field and
    per fragment spread with fragments expanded, plus one per pair of fields that answer the
    same key in one place (merged, so their own selections are compared as one)."""
    counter = _Counter(fragments_of(document), budget)
    try:
        # Fragments on their own too: validation checks each definition, used or not.
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
                counter.walk(definition.selection_set)
    except _Exhausted:
        pass
    return counter.work


def budget_error(work: int, budget: int) -> QueryTooCostlyError:
    return limit_error(
        QueryTooCostlyError,
        f"The document is too large to analyse: past {budget} fields with its fragments "
        "expanded (a field repeated under one name costs more with each repetition). "
        "Spread fragments fewer times, or repeat fields less.",
        None,
        cost=work,
        limit=budget,
    )


class _Counter:
    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode], budget: int) -> None:
        self.fragments = fragments
        self.budget = budget
        self.work = 0

    def add(self, work: int) -> None:
        self.work += work
        if self.work > self.budget:
            raise _Exhausted

    def walk(self, selection_set: SelectionSetNode) -> None:
        """Each place of the merged answer in turn, from a stack (no recursion: a document's
        nesting is the client's to choose until validation has run)."""
        places: list[list[_Located]] = [[(selection_set, frozenset())]]
        while places:
            for fields in self.merged(places.pop()).values():
                below = [
                    (field.selection_set, path) for field, path in fields if field.selection_set
                ]
                if below:
                    places.append(below)

    def merged(self, selection_sets: list[_Located]) -> dict[str, list[tuple[FieldNode, _Path]]]:
        """The fields of `selection_sets`, fragments expanded, grouped by response key; each
        with the fragments it was reached through, so that a cycle (which validation reports)
        is not followed."""
        groups: dict[str, list[tuple[FieldNode, _Path]]] = {}
        pending = list(selection_sets)
        while pending:
            selection_set, path = pending.pop()
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    group = groups.setdefault((selection.alias or selection.name).value, [])
                    self.add(1 + len(group))  # the field, and one comparison per earlier one
                    group.append((selection, path))
                elif isinstance(selection, InlineFragmentNode):
                    pending.append((selection.selection_set, path))
                elif isinstance(selection, FragmentSpreadNode):
                    self.add(1)
                    name = selection.name.value
                    fragment = self.fragments.get(name)
                    if fragment is not None and name not in path:
                        pending.append((fragment.selection_set, path | {name}))
        return groups
