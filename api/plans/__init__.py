"""Compiled plans: for a document the general path has already answered without any error, a
shorter way to the same answer, derived from the schema (api/plans/selection.py walks it).

A plan is compiled only for a document that parsed, validated and passed every request limit
under this app's settings, and only for the shapes below; anything else, or anything a plan
cannot answer exactly as the general path would, is left to the general path. The schema's
extensions are each accounted for in `EXTENSIONS`, and a test pins that list to the schema's.
"""

from __future__ import annotations

from cachetools import LRUCache
from graphql import DocumentNode, GraphQLError, parse, validate
from strawberry import Schema

from api.plans.answers import PlanAnswer
from api.plans.literals import Literals
from api.plans.lookups import LookupPlan, compile_lookups
from api.plans.resolved import PUBLISH, SEARCH, ResolverPlan, compile_resolved
from api.plans.selection import Walker, single_operation
from monitoring.graphql import OperationMetrics
from schema import schema as app_schema
from schema.document_cache import DocumentCacheExtension
from schema.errors import ErrorCodes
from schema.limits import RequestLimits

__all__ = ["EXTENSIONS", "Plan", "PlanAnswer", "Plans", "compile_plan"]

Plan = LookupPlan | ResolverPlan

# What each of the schema's extensions does on the general path, and how plans stand with it.
EXTENSIONS: dict[type, str] = {
    RequestLimits: "plans exist only for documents that passed the limits; the limits that "
    "depend on variables (list lengths) are checked again by each plan before it runs",
    DocumentCacheExtension: "plans keep their own parsed document, keyed the same way",
    ErrorCodes: "a plan's resolver errors are coded by schema.errors (api/plans/answers.py)",
    OperationMetrics: "plans time their operations for /metrics with observe_operation",
}

_WALKER = Walker(app_schema)

# A plan holds its parsed document and a closure per selected field, both growing with the
# document's text: the byte bound counts each plan at this multiple of it (measured, rounded up).
PLAN_BYTES_PER_CHARACTER = 100


class Plans:
    """Plans by (query text, operation name), including "no plan" verdicts, LRU-bounded.

    One per app: the plan of a document is only valid under the settings it was checked with.
    """

    def __init__(
        self,
        max_entries: int = 1000,
        *,
        max_bytes: int = 16 * 1024 * 1024,
        lookups: bool = True,
        publish: bool = True,
        search: bool = True,
        schema: Schema = app_schema,
    ) -> None:
        self.walker = _WALKER if schema is app_schema else Walker(schema)
        self.lookups = lookups
        self.publish = publish
        self.search = search
        self.max_entries = max_entries
        # Lifted literals serve every mode, the general path's caches too (api/plans/literals.py).
        self.literals = Literals(max_entries)
        # Keyed by the query text: bounded in bytes of that text too, not only in entries.
        self._plans: LRUCache[tuple[str, str | None], tuple[Plan | None, int]] = LRUCache(
            max_bytes, getsizeof=lambda entry: entry[1]
        )

    @property
    def enabled(self) -> bool:
        return self.lookups or self.publish or self.search

    def get(self, query: str, operation_name: str | None) -> Plan | None:
        if not self.enabled:
            return None
        found = self._plans.get((query, operation_name))  # a read counts as a use
        return None if found is None else found[0]

    def clear(self) -> None:
        self._plans.clear()

    def learn(self, query: str, operation_name: str | None) -> None:
        """Compile `query` once the general path has answered it without any error."""
        key = (query, operation_name)
        if not self.enabled or key in self._plans:
            return
        try:
            # Without locations: a plan needs none, and a located AST is a web of reference
            # cycles (the token list) that only the collector's rare full passes would free.
            document = parse(query, no_location=True)
            plan = compile_plan(
                document,
                operation_name,
                query,
                lookups=self.lookups,
                publish=self.publish,
                search=self.search,
                walker=self.walker,
                # Learned only from an answer without errors: the general path validated it,
                # with every rule the plain validation below has and the app's limits besides.
                validated=True,
            )
        except GraphQLError:
            plan = None
        size = len(query) + len(operation_name or "") + 500
        if plan is not None:
            size += PLAN_BYTES_PER_CHARACTER * len(query)
        if size > self._plans.maxsize:
            return
        while len(self._plans) >= self.max_entries:
            self._plans.popitem()
        self._plans[key] = (plan, size)


def compile_plan(
    document: DocumentNode,
    operation_name: str | None,
    query: str,
    *,
    lookups: bool = True,
    publish: bool = True,
    search: bool = True,
    walker: Walker = _WALKER,
    validated: bool = False,
) -> Plan | None:
    """A plan for `document`'s operation (`query` is its text, for errors' locations) when it has
    a shape the enabled plans answer, else None. `validated` says the document has already
    passed validation against this schema, which then is not run again (a document seen once, a
    literal value in its text, pays for compiling and would pay for validating twice)."""
    operation = single_operation(document, operation_name)
    if operation is None or (not validated and validate(walker.graphql, document)):
        return None  # only valid documents: their variables' types match their arguments'
    plan: Plan | None = None
    if lookups:
        plan = compile_lookups(walker, document, operation_name, operation)
    fields = frozenset([*([PUBLISH] if publish else []), *([SEARCH] if search else [])])
    if plan is None and fields:
        plan = compile_resolved(walker, document, operation_name, operation, query, fields)
    return plan
