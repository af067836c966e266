"""What the limits share: sums over an operation's root fields with fragments expanded, each
fragment summed once, and the error a limit reports."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    Node,
    SelectionSetNode,
)

from schema.codes import ValidationFailedError, error_code

_Refusal = TypeVar("_Refusal", bound=ValidationFailedError)

# The largest count a limit reports: every JSON reader takes it exactly (and the encoder takes it
# at all), however many times a document's fragments multiply a field.
MAX_REPORTED_COUNT = 2**53 - 1


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def sum_root_fields(
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    value: Callable[[FieldNode], int],
) -> int:
    """`value` summed over the root fields of `selection_set`, once per time each is reached
    through fragment spreads.

    A fragment's sum is worked out once and multiplied by its spreads: a document whose
    fragments spread each other twice reaches exponentially many fields, and expanding them one
    by one would hold the event loop for minutes. Fragments are resolved with a stack of their
    own (a chain of fragments may be longer than Python's recursion limit); a spread that closes
    a cycle (refused by validation) adds nothing."""
    own, spreads = _own_sum(selection_set, value)
    sums: dict[str, int] = {}
    for name in spreads:
        if name not in sums and name in fragments:
            _resolve(name, fragments, value, sums)
    return own + sum(sums.get(name, 0) for name in spreads)


def _own_sum(
    selection_set: SelectionSetNode, value: Callable[[FieldNode], int]
) -> tuple[int, list[str]]:
    """The sum over the fields written in `selection_set` (inline fragments included: the
    parser bounds their nesting), and the fragments it spreads, once per spread."""
    own = 0
    spreads: list[str] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            own += value(selection)
        elif isinstance(selection, InlineFragmentNode):
            inner, more = _own_sum(selection.selection_set, value)
            own += inner
            spreads.extend(more)
        elif isinstance(selection, FragmentSpreadNode):
            spreads.append(selection.name.value)
    return own, spreads


def _resolve(
    name: str,
    fragments: Mapping[str, FragmentDefinitionNode],
    value: Callable[[FieldNode], int],
    sums: dict[str, int],
) -> None:
    """`sums[name]`, and the sum of every fragment it reaches, depth first."""
    own, spreads = _own_sum(fragments[name].selection_set, value)
    stack = [(name, own, spreads, 0)]
    on_stack = {name}
    while stack:
        current, own, spreads, index = stack[-1]
        while index < len(spreads):
            child = spreads[index]
            if child in sums or child in on_stack or child not in fragments:
                index += 1
                continue
            break
        if index < len(spreads):
            stack[-1] = (current, own, spreads, index)
            child = spreads[index]
            child_own, child_spreads = _own_sum(fragments[child].selection_set, value)
            stack.append((child, child_own, child_spreads, 0))
            on_stack.add(child)
            continue
        stack.pop()
        on_stack.discard(current)
        sums[current] = own + sum(sums.get(spread, 0) for spread in spreads)


def limit_error(
    kind: type[_Refusal],
    message: str,
    nodes: Node | Collection[Node] | None,
    **details: int,
) -> _Refusal:
    """A request limit's refusal: its code comes from the error table by `kind`, ahead of the
    details (the wire format the limits have always had)."""
    error = kind(message, nodes)
    error.extensions = {"code": error_code(error).code, **details}
    return error
