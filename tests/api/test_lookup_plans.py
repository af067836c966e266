"""Compiled lookup plans: which documents get one, and that a plan answers exactly as the
general path does (then steps aside whenever it could not)."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import DocumentNode, parse

from api.plans import Plan
from api.plans import compile_plan as compile_any
from tests.support import PLANS_ON, AppHarness, error_codes, running_app
from tests.support.proxy import proxy_to

# Plans on in both of `make test`'s runs: these tests are about them.
BASE: dict[str, Any] = {"migrate_on_start": False, "seed_on_start": False, **PLANS_ON}
ALIASED = """
query Pair($a: String!, $b: String!) {
  one: microService(slug: $a) { id slug name category subcategory description __typename }
  two: microService(slug: $b) { key: slug n: name }
  three: microService(slug: "ceiling-painting") { id }
}
"""


def compile_plan(document: DocumentNode, name: str | None) -> Plan | None:
    """The lookup plan of `document`, the other plans off."""
    return compile_any(document, name, "", publish=False, search=False)


@pytest.mark.parametrize(
    "document",
    [
        ALIASED,
        '{ microService(slug: "wall-painting") { id } }',
        "query($s: String!) { microService(slug: $s) { slug } }",
        # nested objects too: the walker completes them as the schema says
        '{ microService(slug: "x") { questions { id type options { value } } } }',
    ],
)
def test_plain_lookups_compile(document: str) -> None:
    assert compile_plan(parse(document), None) is not None


@pytest.mark.parametrize(
    "document",
    [
        '{ microService(slug: "x") { ...F } } fragment F on MicroService { id }',
        '{ microService(slug: "x") { id @skip(if: false) } }',
        '{ microService(slug: "x") { id } categories { slug } }',
        '{ a: microService(slug: "x") { id } a: microService(slug: "x") { id } }',
        '{ microService(slug: "x") @include(if: true) { id } }',
        'query($s: String! = "x") { microService(slug: $s) { id } }',
        "query($s: ID!) { microService(slug: $s) { id } }",
        '{ __typename microService(slug: "x") { id } }',
    ],
)
def test_anything_else_is_left_to_the_general_path(document: str) -> None:
    assert compile_plan(parse(document), None) is None


def test_the_named_operation_is_the_one_compiled() -> None:
    document = parse('query A { microService(slug: "x") { id } } query B { categories { slug } }')
    assert compile_plan(document, "A") is not None
    assert compile_plan(document, "B") is None
    assert compile_plan(document, None) is None  # ambiguous without a name


async def _ask(api: AppHarness, variables: dict[str, Any]) -> Any:
    return await api.graphql(ALIASED, variables)


@pytest.mark.parametrize(
    "variables",
    [
        {"a": "wall-painting", "b": "woodwork-painting"},
        {"a": "no-such-slug", "b": "wall-painting"},
    ],
)
async def test_a_plan_answers_exactly_as_the_general_path(
    database_url: str, variables: dict[str, Any]
) -> None:
    async with running_app(database_url, **{**BASE, "compiled_lookups": False}) as general:
        expected = await _ask(general, variables)
    async with running_app(database_url, **BASE) as api:
        first = await _ask(api, variables)  # general path; the plan is learned from it
        assert api.http_state.plans.get(ALIASED, None) is not None
        second = await _ask(api, variables)  # the plan
    assert first == expected
    assert second == expected


QUESTIONS = """query($a: String!) {
  microService(slug: $a) {
    slug
    questions {
      id label type required min max unit block allowNotSure help placeholder
      options { value label __typename }
      showIf { questionId values }
    }
  }
}"""


async def test_a_plan_with_nested_objects_answers_exactly_as_the_general_path(
    database_url: str,
) -> None:
    variables = {"a": "wall-painting"}
    async with running_app(database_url, **{**BASE, "compiled_lookups": False}) as general:
        expected = await general.graphql(QUESTIONS, variables)
    async with running_app(database_url, **BASE) as api:
        first = await api.graphql(QUESTIONS, variables)  # general path; the plan is learned
        assert api.http_state.plans.get(QUESTIONS, None) is not None
        second = await api.graphql(QUESTIONS, variables)  # the plan
    assert expected["data"]["microService"]["questions"]
    assert first == expected
    assert second == expected


async def test_a_plan_still_sends_one_statement_for_all_its_slugs(database_url: str) -> None:
    async with running_app(database_url, cache_warm_up=False, **BASE) as api:
        variables = {"a": "wall-painting", "b": "woodwork-painting"}
        await _ask(api, variables)
        # The cached rows are dropped: the plan must go to the database.
        await api.app_state.lookup.invalidate(list(variables.values()))
        api.statements.clear()
        body = await _ask(api, variables)
        assert "errors" not in body
        assert len(api.statements.lookups) == 1


async def test_a_missing_variable_gets_the_general_paths_error(api: AppHarness) -> None:
    await _ask(api, {"a": "wall-painting", "b": "woodwork-painting"})
    body = await _ask(api, {"a": "wall-painting"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "$b" in body["errors"][0]["message"]


async def test_a_lookup_outage_gets_the_general_paths_per_field_errors(database_url: str) -> None:
    async with (
        proxy_to(database_url) as proxy,
        running_app(
            proxy.url_for(database_url),
            cache_warm_up=False,
            breaker_fail_max=1,
            lookup_statement_timeout_ms=300,
            **BASE,
        ) as api,
    ):
        await _ask(api, {"a": "wall-painting", "b": "woodwork-painting"})  # learn, cache
        await proxy.refuse()
        body = await _ask(api, {"a": "wall-painting", "b": "no-such-slug-either"})
    assert body["data"]["one"]["slug"] == "wall-painting"  # cached: still served
    assert body["data"]["two"] is None
    assert error_codes(body) == ["SERVICE_UNAVAILABLE"]
    assert body["errors"][0]["path"] == ["two"]


SLUGS = "query Listed($s: [String!]) { microServices(slugs: $s) { slug id } }"


@pytest.mark.parametrize(
    "slugs",
    [
        ["wall-painting", "no-such-slug", "ceiling-painting", "wall-painting"],
        [],
    ],
)
async def test_a_slug_list_plan_answers_exactly_as_the_general_path(
    database_url: str, slugs: list[str]
) -> None:
    async with running_app(database_url, **{**BASE, "compiled_lookups": False}) as general:
        expected = await general.graphql(SLUGS, {"s": slugs})
    async with running_app(database_url, **BASE) as api:
        await api.graphql(SLUGS, {"s": ["wall-painting"]})  # learn
        assert api.http_state.plans.get(SLUGS, None) is not None
        assert await api.graphql(SLUGS, {"s": slugs}) == expected


async def test_a_slug_list_plan_leaves_limits_and_nulls_to_the_general_path(
    database_url: str,
) -> None:
    async with running_app(database_url, max_list_length=3, **BASE) as api:
        await api.graphql(SLUGS, {"s": ["wall-painting"]})  # learn
        too_long = await api.graphql(SLUGS, {"s": ["a", "b", "c", "d"]})
        assert too_long["errors"][0]["extensions"]["reason"] == "LIST_TOO_LONG"
        everything = await api.graphql(SLUGS, {"s": None})  # null: the whole catalogue
        assert len(everything["data"]["microServices"]) > 100


def test_a_slug_list_with_a_filter_is_left_to_the_general_path() -> None:
    document = parse('{ microServices(category: "painting", slugs: ["x"]) { id } }')
    assert compile_plan(document, None) is None
    assert compile_plan(parse('{ microServices(slugs: ["x", "y"]) { id } }'), None) is not None
