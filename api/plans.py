"""The process's compiled plans (api/lookup_plans.py, api/publish_plan.py, api/search_plan.py)
by document."""

from __future__ import annotations

from cachetools import LRUCache
from graphql import GraphQLError, parse

from api.lookup_plans import LookupPlan, compile_plan
from api.publish_plan import PublishPlan, compile_publish_plan
from api.search_plan import SearchPlan, compile_search_plan

Plan = LookupPlan | PublishPlan | SearchPlan


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
    ) -> None:
        self.lookups = lookups
        self.publish = publish
        self.search = search
        self.max_entries = max_entries
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
            plan: Plan | None = compile_plan(document, operation_name) if self.lookups else None
            if plan is None and self.publish:
                plan = compile_publish_plan(document, operation_name, query)
            if plan is None and self.search:
                plan = compile_search_plan(document, operation_name, query)
        except GraphQLError:
            plan = None
        size = len(query) + len(operation_name or "") + 500
        if size > self._plans.maxsize:
            return
        while len(self._plans) >= self.max_entries:
            self._plans.popitem()
        self._plans[key] = (plan, size)
