"""A bounded, process-wide cache of parsed and validated GraphQL documents, by query text.

Parsing and validating the same document again on every request was most of the server's CPU
(docs/benchmarks.md has the profile). Clients that send a fixed document with variables hit
this cache every time; a client that pastes literals into the query text makes every request a
new document and misses it (docs/API.md: call the API with variables or persisted queries).

One lookup by the query string serves both steps: the entry holds the document and, per set
of validation rules, the validation errors (kept too, so a repeated invalid document is cheap
to reject). Invalid syntax is not cached: Strawberry's own parse then reports the error as it
always does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache
from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document  # no public name for it

Rules = tuple[type[ASTValidationRule], ...]


# A parsed document's AST takes many times its text: an estimate per character of the text and
# per entry, enough to bound memory by what clients send.
_BYTES_PER_CHARACTER = 20
_ENTRY_OVERHEAD_BYTES = 2000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


@dataclass(slots=True)
class _Entry:
    document: DocumentNode
    size: int = 0
    errors: dict[Rules, list[GraphQLError]] = field(default_factory=dict)


@dataclass(slots=True)
class DocumentCacheStats:
    parses: int = 0  # documents parsed (cache misses of the parse step)
    validations: int = 0  # validations run (misses of the validation step)
    hits: int = 0  # requests whose document came from the cache


def _unlink_tokens(document: DocumentNode) -> None:
    """Break the token list's back links of a document leaving the cache.

    graphql-core links each token to its neighbours both ways: every parsed document is a web
    of reference cycles, freed only by the cyclic collector's rare full passes (app.py tunes it
    for short pauses). A client sending a new document per request would grow the process until
    then. With the back links gone the document is a tree, freed the moment nothing uses it;
    `prev` is the lexer's alone, so a request still running on the document is not affected."""
    token = document.loc.start_token if document.loc is not None else None
    while token is not None:
        token.prev = None
        token = token.next


class _Evicting(LRUCache[str, "_Entry"]):
    def popitem(self) -> tuple[str, _Entry]:
        key, entry = super().popitem()
        _unlink_tokens(entry.document)
        return key, entry


class DocumentCache:
    """LRU of at most `maxsize` documents and about `max_bytes` of them. Not thread-safe: one
    per event loop (process)."""

    def __init__(self, maxsize: int, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.maxsize = maxsize
        self.stats = DocumentCacheStats()
        self._entries: LRUCache[str, _Entry] = _Evicting(
            maxsize=max_bytes, getsizeof=lambda entry: entry.size
        )

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, query: object) -> bool:
        """Whether `query` is cached (not counted as a use)."""
        return query in self._entries

    def document(self, query: str, parse_options: Mapping[str, Any]) -> DocumentNode:
        """The parsed `query`; raises GraphQLError on a syntax error (not cached)."""
        entry = self._entries.get(query)  # a read counts as a use
        if entry is not None:
            self.stats.hits += 1
            return entry.document
        document = parse(query, **parse_options)
        self.stats.parses += 1
        size = len(query) * _BYTES_PER_CHARACTER + _ENTRY_OVERHEAD_BYTES
        entries = self._entries
        if size <= entries.maxsize:
            while len(entries) >= self.maxsize:
                entries.popitem()
            entries[query] = _Entry(document, size)
        return document

    def errors(
        self, query: str, document: DocumentNode, schema: GraphQLSchema, rules: Rules
    ) -> list[GraphQLError]:
        """The validation errors of `document` (parsed from `query`) under `rules`."""
        entry = self._entries.get(query)
        if entry is None or entry.document is not document:
            # Parsed elsewhere (e.g. evicted meanwhile): validate, do not cache.
            self.stats.validations += 1
            return validate_document(schema, document, rules)
        found = entry.errors.get(rules)
        if found is None:
            found = entry.errors[rules] = validate_document(schema, document, rules)
            self.stats.validations += 1
        return list(found)  # a copy: the caller's result may be edited, the cache must not be


class DocumentCacheExtension(SchemaExtension):
    """Serves parse and validation from a `DocumentCache`; built per request by the schema."""

    def __init__(self, cache: DocumentCache) -> None:
        super().__init__()
        self._cache = cache

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query and context.graphql_document is None:
            # On a syntax error it stays unparsed: Strawberry parses again and reports it.
            with contextlib.suppress(GraphQLError):
                context.graphql_document = self._cache.document(
                    context.query, context.parse_options
                )
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        rules = tuple(context.validation_rules)
        document = context.graphql_document
        unvalidated = context.pre_execution_errors is None
        if rules and context.query and document is not None and unvalidated:
            # The GraphQLSchema a Strawberry schema wraps has no public accessor.
            context.pre_execution_errors = self._cache.errors(
                context.query, document, context.schema._schema, rules
            )
        yield
