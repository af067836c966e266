"""The compiled searchServices plan: which documents get one, that it answers (and fails) byte for
byte as the general path does, steps aside for arguments graphql-core would refuse, and that its
answers are kept by the response cache like the general path's."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from graphql import parse

from api.plans import compile_plan
from api.plans.resolved import ResolverPlan
from tests.support import PLANS_ON, AppHarness, general_and_planned, running_app

# Plans on in both of `make test`'s runs: these tests are about them.
BASE: dict[str, Any] = {"migrate_on_start": False, "seed_on_start": False, **PLANS_ON}
SEARCH = """query Search($text: String!, $first: Int) {
  found: searchServices(text: $text, first: $first) {
    __typename score why: matchedOn path
    microService { id slug name category subcategory description __typename }
  }
}"""
LITERAL = '{ searchServices(text: "boilr servise") { microService { slug } score } }'


def _compile(document: str, name: str | None = None) -> ResolverPlan | None:
    plan = compile_plan(
        parse(document, no_location=True), name, document, lookups=False, publish=False
    )
    assert plan is None or isinstance(plan, ResolverPlan)
    return plan


@pytest.mark.parametrize(
    "document",
    [
        SEARCH,
        LITERAL,
        "query($t: String!) { searchServices(text: $t, first: 3) { score } }",
    ],
)
def test_plain_searches_compile(document: str) -> None:
    assert _compile(document) is not None


@pytest.mark.parametrize(
    "document",
    [
        '{ searchServices(text: "x") { microService { id @skip(if: false) } } }',
        '{ searchServices(text: "x") { ...F } } fragment F on ServiceMatch { score }',
        '{ searchServices(text: "x") @include(if: true) { score } }',
        '{ searchServices(text: "x") { score } categories { slug } }',
        '{ searchServices(text: "x") { s: score s: path } }',
        'query($t: String! = "x") { searchServices(text: $t) { score } }',
        "query($t: ID!) { searchServices(text: $t) { score } }",
        '{ relatedServices(microUuid: "00000000-0000-0000-0000-000000000000") { score } }',
    ],
)
def test_anything_else_is_left_to_the_general_path(document: str) -> None:
    assert _compile(document) is None


def _both(database_url: str) -> AbstractAsyncContextManager[tuple[AppHarness, AppHarness]]:
    """The general path and the plan, on one database, neither behind the response cache."""
    return general_and_planned(database_url, "compiled_search", response_cache=False, **BASE)


async def _ask(api: AppHarness, query: str, variables: Any, request_id: str = "rid") -> bytes:
    response = await api.client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"X-Request-ID": request_id},
    )
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.parametrize(
    "variables",
    [
        {"text": "loo wont flush properly", "first": 3},
        {"text": "boilr servise"},  # `first` from the argument's default
        {"text": "   "},  # blank: no matches
        {"text": "zzzz qqqq"},  # nonsense: no matches either
        # Refused by the resolver: coded as the general path codes it.
        {"text": "tap", "first": 0},
        {"text": "tap", "first": 21},
        # Refused or coerced by graphql-core: the plan steps aside.
        {"text": "tap", "first": "3"},
        {"text": "tap", "first": 2**40},
        {"text": "tap", "first": 2.0},
        {"text": 5},
        {"first": 3},
        {"text": "tap", "first": None},
    ],
)
async def test_a_plan_answers_byte_for_byte_as_the_general_path(
    database_url: str, variables: dict[str, Any]
) -> None:
    async with _both(database_url) as (general, planned):
        await _ask(planned, SEARCH, {"text": "dripping tap"})  # learned from the general path
        assert isinstance(planned.http_state.plans.get(SEARCH, None), ResolverPlan)
        expected = await _ask(general, SEARCH, variables)
        assert await _ask(planned, SEARCH, variables) == expected


async def test_a_literal_search_answers_as_the_general_path(database_url: str) -> None:
    async with _both(database_url) as (general, planned):
        await _ask(planned, LITERAL, {})
        assert isinstance(planned.http_state.plans.get(LITERAL, None), ResolverPlan)
        assert await _ask(planned, LITERAL, {}) == await _ask(general, LITERAL, {})


async def test_a_plans_answer_is_kept_by_the_response_cache(database_url: str) -> None:
    async with running_app(database_url, **BASE) as api:
        await _ask(api, SEARCH, {"text": "dripping tap"})  # general path; the plan is learned
        first = await _ask(api, SEARCH, {"text": "fuse box keeps tripping"})  # the plan
        cache = api.http_state.response_cache
        assert cache is not None
        hits = cache.hits
        assert await _ask(api, SEARCH, {"text": "fuse box keeps tripping"}) == first
        assert cache.hits == hits + 1
