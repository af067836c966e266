"""Literal values lifted into variables: a document that differs from a known one only in the
values written into its text is answered by the same parsed and validated document, the same
plan and the same response-cache policy, as Apollo's operation signatures and Hasura's plan
cache do.

One pass of a regular expression over the text finds its string and number literals; the text
with each replaced by a placeholder of its kind is the document's *signature*. A text without
comments or block strings (the common case) is split at its literals in C, and their values
read in one call; only the others are walked token by token. The second
document of a signature that runs without error teaches its *lifted* form: the same text with
each literal replaced by a variable `$__lN` of the type its position expects (the schema's type
info over the parsed document), declared on the operation. A literal whose position has no input
type (inside a JSON scalar's object, such as publishJob's `answers`) stays in the text, and the
lifted form then serves only documents with that very value there. A later document of the same
signature is run as the lifted text with its literals' values as variables, so every cache keyed
by the query text (documents, plans, cached answers) serves all of them.

A query is lifted whenever its signature is known: when the lifted run has any error, it is run
again as sent, so that errors and their `locations` are always those of the document the client
wrote. A mutation cannot be run twice, so it is lifted only when the lifted text (validated when
its form was worked out) has a compiled plan: the plan either steps aside before anything runs
(and the text as sent goes to the general path) or answers, locating its errors in the text as
sent (api/plans/answers.py). Block strings, strings JSON cannot read, booleans, enums and null
stay in the text (and so in the signature).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from cachetools import LRUCache
from graphql import (
    DocumentNode,
    FloatValueNode,
    GraphQLError,
    GraphQLSchema,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    parse,
    validate,
    visit,
)

PREFIX = "__l"
_LIFTED_OPERATIONS = (OperationType.QUERY, OperationType.MUTATION)
_KINDS = {"s": str, "i": int, "f": float}

# Possessive (`*+`, `++`) where nothing after a repetition could match what it gave back: the
# same tokens, without the engine keeping a way back at every character.
_TOKENS = re.compile(
    r'(?P<block>"""(?:\\"""|[^"]|"(?!""))*""")'
    r'|(?P<s>"(?:[^"\\\n\r]++|\\.)*+")'
    # Names, comments, punctuation and white space, as one run between literals: the loop
    # below then visits the literals and the runs between them, not every token.
    r'|(?P<other>(?:[_A-Za-z][_0-9A-Za-z]*+|#[^\n\r]*+|[^"#_A-Za-z0-9\-]++)++)'
    r"|(?P<f>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+(?:[eE][+-]?[0-9]+)?|[eE][+-]?[0-9]+)(?![_0-9A-Za-z.]))"
    r"|(?P<i>-?(?:0|[1-9][0-9]*)(?![_0-9A-Za-z.]))"
)


# The literals alone, for a text without comments or block strings: a string, or a number not
# inside a name (a digit that follows a name character, a digit included, belongs to it, as the
# tokens above have it; a minus sign starts a number wherever it stands). Each match begins
# with a character of one class, so the engine skips to the next quote, minus or digit rather
# than trying the pattern at every character; the look-behinds then tell which was found.
# Possessive throughout: a number that fails its look-ahead cannot succeed with fewer digits.
_LITERALS = re.compile(
    r'([-"0-9](?:(?<=")(?:[^"\\\n\r]++|\\.)*+"'
    r"|(?:(?<=-)(?:0|[1-9][0-9]*+)|(?<=0)(?<![_0-9A-Za-z]0)|(?<=[1-9])(?<![_0-9A-Za-z][1-9])[0-9]*+)"
    r"(?:\.[0-9]++)?(?:[eE][+-]?[0-9]++)?(?![_0-9A-Za-z.])))"
)
_KIND_OF = {str: "\0s", int: "\0i", float: "\0f"}


class Scanned(NamedTuple):
    signature: str
    parts: list[str]  # the text split at its literals: text, literal, text, ..., text
    values: tuple[Any, ...]

    def spans(self) -> list[tuple[int, int]]:
        """Where each literal starts and ends in the text."""
        spans: list[tuple[int, int]] = []
        parts, at = self.parts, 0
        for n in range(1, len(parts), 2):
            start = at + len(parts[n - 1])
            at = start + len(parts[n])
            spans.append((start, at))
        return spans


def scan(query: str) -> Scanned | None:
    """The literals of `query` and its signature; None when it has none to lift."""
    if "#" in query or '"""' in query:
        return scan_by_tokens(query)  # a quote or a digit may be a comment's or a block's
    parts = _LITERALS.split(query)
    if len(parts) == 1:
        return None
    texts = parts[1::2]
    try:
        # A GraphQL string or number reads as JSON does: all of them in one call.
        values: list[Any] = orjson.loads(f"[{','.join(texts)}]")
    except orjson.JSONDecodeError:
        return scan_by_tokens(query)  # one JSON cannot read stays in the text: token by token
    marks = parts.copy()
    marks[1::2] = kinds = [_KIND_OF[type(value)] for value in values]
    if "\0f" in kinds and any(
        kind == "\0f" and "." not in text and "e" not in text and "E" not in text
        for text, kind in zip(texts, kinds, strict=True)
    ):
        return scan_by_tokens(query)  # an integer past 64 bits, which JSON reads as a float
    return Scanned("".join(marks), parts, tuple(values))


def scan_by_tokens(query: str) -> Scanned | None:
    """`scan` for any text, token by token: names, comments and block strings included."""
    pieces: list[str] = []  # the signature's
    parts: list[str] = []
    values: list[Any] = []
    done = 0
    for token in _TOKENS.finditer(query):
        kind = token.lastgroup or ""
        expected = _KINDS.get(kind)
        if expected is None:
            continue
        text = token.group()
        try:
            value: Any = orjson.loads(text)  # a GraphQL string or number reads as JSON does
        except orjson.JSONDecodeError:
            continue  # left in the text: part of the signature
        if type(value) is not expected:
            continue
        start, end = token.span()
        before = query[done:start]
        pieces += (before, "\0", kind)
        parts += (before, text)
        values.append(value)
        done = end
    if not values:
        return None
    pieces.append(query[done:])
    parts.append(query[done:])
    return Scanned("".join(pieces), parts, tuple(values))


@dataclass(frozen=True, slots=True)
class Lifted:
    text: str  # the document with `$__lN` for its literals, declared on the operation
    mutation: bool  # answered lifted only through its compiled plan
    lifted: tuple[int, ...]  # which literals of the signature are variables, by their order
    kept: tuple[tuple[int, Any], ...]  # the others, with the value each has in `text`
    names: tuple[str, ...]  # the variables, in the order of `lifted`

    def matches(self, scanned: Scanned) -> bool:
        kept = self.kept
        return not kept or all(scanned.values[n] == value for n, value in kept)

    def variables(self, values: tuple[Any, ...]) -> dict[str, Any]:
        """The lifted literals' values, by their variables' names."""
        if not self.kept:  # every literal lifted, in order
            return dict(zip(self.names, values, strict=True))
        return dict(zip(self.names, [values[n] for n in self.lifted], strict=True))


class Literals:
    """Lifted forms by signature (with "not liftable" verdicts as None), LRU-bounded."""

    def __init__(self, max_entries: int = 1000) -> None:
        self._lifted: LRUCache[str, Lifted | None] = LRUCache(max_entries)
        # Signatures seen once: a lifted form is worked out on the second query of one, so that
        # documents that never recur (a new alias in each) cost a scan, not a compilation.
        self._seen: LRUCache[str, bool] = LRUCache(max_entries)
        self._last: tuple[str, Scanned | None] = ("", None)  # the text `lift` just scanned

    def _scan(self, query: str) -> Scanned | None:
        last_query, last = self._last
        if query is last_query:
            return last
        scanned = scan(query)
        self._last = (query, scanned)
        return scanned

    def lift(self, query: str) -> tuple[Lifted, dict[str, Any]] | None:
        """The lifted form and the literals' values as variables, for a document of a known
        signature; None otherwise."""
        if PREFIX in query:
            return None
        scanned = self._scan(query)
        if scanned is None:
            return None
        lifted = self._lifted.get(scanned.signature)
        if lifted is None or not lifted.matches(scanned):
            return None
        return lifted, lifted.variables(scanned.values)

    def learn(self, query: str, document: DocumentNode, schema: GraphQLSchema) -> Lifted | None:
        """Work out the lifted form of `query` (which ran without error) once per signature and
        values left in the text; the form that now serves `query`, if any."""
        if PREFIX in query:
            return None
        scanned = self._scan(query)
        if scanned is None:
            return None
        signature = scanned.signature
        known = self._lifted.get(signature)
        if known is not None and known.matches(scanned):
            return known
        if known is None and signature in self._lifted:
            return None  # not liftable
        if known is None and self._seen.pop(signature, None) is None:
            self._seen[signature] = True
            return None
        # A second document of the signature, or other values where the known form keeps its
        # literals in the text: the latest values are the ones served from now on.
        lifted = _lifted(query, scanned, document, schema)
        self._lifted[signature] = lifted
        return lifted


class _Positions(Visitor):
    """The input type expected at each string and number literal, by its start."""

    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.types: dict[int, str] = {}

    def _literal(self, node: StringValueNode | IntValueNode | FloatValueNode, *_: object) -> None:
        expected = self.type_info.get_input_type()
        if node.loc is not None and expected is not None:
            self.types[node.loc.start] = str(expected)

    enter_string_value = _literal
    enter_int_value = _literal
    enter_float_value = _literal


def _lifted(
    query: str, scanned: Scanned, document: DocumentNode, schema: GraphQLSchema
) -> Lifted | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation not in _LIFTED_OPERATIONS:
        return None
    operation = operations[0]
    type_info = TypeInfo(schema)
    positions = _Positions(type_info)
    visit(document, TypeInfoVisitor(type_info, positions))
    spans = scanned.spans()
    types = [positions.types.get(start) for start, _ in spans]
    lifted = tuple(n for n, t in enumerate(types) if t is not None)
    if not lifted or operation.loc is None:
        return None
    kept = tuple((n, scanned.values[n]) for n, t in enumerate(types) if t is None)
    keyword = operation.operation.value
    declared = ", ".join(f"${PREFIX}{i}: {types[n]}" for i, n in enumerate(lifted))
    # Where the declarations go: after the operation's own, after its name, after `query` or
    # `mutation`, or in front of a shorthand `{ ... }`.
    if operation.variable_definitions:
        last = operation.variable_definitions[-1].loc
        insert = (last.end if last else -1, f", {declared}")
    elif operation.name is not None and operation.name.loc is not None:
        insert = (operation.name.loc.end, f"({declared})")
    elif query.startswith(keyword, operation.loc.start):
        insert = (operation.loc.start + len(keyword), f"({declared})")
    else:
        insert = (operation.loc.start, f"query({declared}) ")
    if insert[0] < 0:
        return None
    edits = [(*spans[n], f"${PREFIX}{i}") for i, n in enumerate(lifted)]
    edits.append((insert[0], insert[0], insert[1]))
    edits.sort(key=lambda edit: (edit[0], edit[1]))
    pieces: list[str] = []
    done = 0
    for start, end, text in edits:
        pieces += (query[done:start], text)
        done = end
    pieces.append(query[done:])
    text = "".join(pieces)
    # The lifted text must be a valid document on its own (a literal in a variable's default
    # value, say, cannot become a variable): checked once, here.
    try:
        if validate(schema, parse(text)):
            return None
    except GraphQLError:  # it does not parse: not liftable
        return None
    names = tuple(f"{PREFIX}{i}" for i in range(len(lifted)))
    return Lifted(text, operation.operation == OperationType.MUTATION, lifted, kept, names)
