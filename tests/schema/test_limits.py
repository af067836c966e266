"""Request limits: each at its bound and one past it, rejected with its code before any
resolver (or SQL statement) runs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from graphql import get_introspection_query

from config import Settings
from tests.support import AppHarness, error_codes, running_app


def _aliases(count: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"


def _tokens(count: int) -> str:
    # `{ __typename }` is three tokens; comments count too (else padding them would be free).
    # Many equal fields would not do: graphql-core caps the work of comparing them.
    return "{ __typename }" + "\n# padding" * (count - 3)


def test_default_limits_are_the_documented_ones() -> None:
    settings = Settings.from_env({})
    assert settings.max_query_depth == 12
    assert settings.max_aliases == 200
    assert settings.max_tokens == 5000
    assert settings.max_body_bytes == 100 * 1024
    assert settings.max_list_length == 500
    assert settings.introspection is True
    assert settings.cors_origins == ()


def test_limits_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "MAX_QUERY_DEPTH": "5",
            "MAX_ALIASES": "7",
            "MAX_TOKENS": "800",
            "MAX_BODY_BYTES": "4096",
            "MAX_LIST_LENGTH": "9",
            "INTROSPECTION": "false",
            "CORS_ORIGINS": "https://a.example, https://b.example",
        }
    )
    assert (settings.max_query_depth, settings.max_aliases, settings.max_tokens) == (5, 7, 800)
    assert (settings.max_body_bytes, settings.max_list_length) == (4096, 9)
    assert settings.introspection is False
    assert settings.cors_origins == ("https://a.example", "https://b.example")


async def test_aliases_at_the_limit_pass_and_one_more_is_refused(api: AppHarness) -> None:
    assert "errors" not in await api.graphql(_aliases(200))
    body = await api.graphql(_aliases(201))
    assert error_codes(body) == ["MAX_ALIASES_EXCEEDED"]
    assert "data" not in body


async def test_aliases_are_counted_through_every_fragment_spread(api: AppHarness) -> None:
    fragment = "fragment F on Query { " + " ".join(f"f{i}: __typename" for i in range(101)) + " }"
    assert "errors" not in await api.graphql("{ ...F } " + fragment)
    body = await api.graphql("{ ...F ... on Query { ...F } } " + fragment)
    assert error_codes(body) == ["MAX_ALIASES_EXCEEDED"]


async def test_tokens_at_the_limit_pass_and_one_more_is_refused(api: AppHarness) -> None:
    assert "errors" not in await api.graphql(_tokens(5000))
    body = await api.graphql(_tokens(5001))
    assert error_codes(body) == ["MAX_TOKENS_EXCEEDED"]


async def test_a_syntax_error_before_the_token_limit_is_a_parse_failure(api: AppHarness) -> None:
    # Broken at its fourth token, and long past the limit after it: the grammar stopped the
    # parser first, so the client hears about the syntax, not the length.
    body = await api.graphql("{ __typename ) }" + "\n# padding" * 6000)
    assert error_codes(body) == ["GRAPHQL_PARSE_FAILED"]


DEPTH_3 = "{ categories { subcategories { slug } } }"
DEPTH_4 = "{ categories { subcategories { microServices { slug } } } }"


@pytest.fixture
async def shallow_api(database_url: str) -> AsyncIterator[AppHarness]:
    """The app with MAX_QUERY_DEPTH=3: the schema has no cycles, so a depth of 12 cannot be
    reached with real fields, and the bound is proved on a smaller setting instead."""
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, max_query_depth=3
    ) as harness:
        yield harness


async def test_depth_at_the_limit_passes_and_one_more_is_refused_before_any_sql(
    shallow_api: AppHarness,
) -> None:
    assert "errors" not in await shallow_api.graphql(DEPTH_3)
    shallow_api.statements.clear()
    body = await shallow_api.graphql(DEPTH_4)
    assert error_codes(body) == ["MAX_DEPTH_EXCEEDED"]
    assert body["errors"][0]["extensions"]["limit"] == 3
    assert shallow_api.statements.statements == []


async def test_depth_counts_through_fragments(shallow_api: AppHarness) -> None:
    query = (
        "{ categories { ...Sub } } "
        "fragment Sub on Category { subcategories { microServices { slug } } }"
    )
    assert error_codes(await shallow_api.graphql(query)) == ["MAX_DEPTH_EXCEEDED"]


async def test_the_deepest_real_query_and_graphiql_introspection_pass_the_defaults(
    api: AppHarness,
) -> None:
    deepest = (
        "{ categories { subcategories { microServices { questions { options { value } } } } } }"
    )
    assert "errors" not in await api.graphql(deepest)
    assert "errors" not in await api.graphql(get_introspection_query(descriptions=True))


async def test_slugs_at_the_limit_pass_and_one_more_is_refused_before_any_lookup(
    api: AppHarness,
) -> None:
    query = "query($slugs: [String!]) { microServices(slugs: $slugs) { slug } }"
    at_limit = ["wall-painting"] + [f"no-such-slug-{i}" for i in range(499)]
    body = await api.graphql(query, {"slugs": at_limit})
    assert body == {"data": {"microServices": [{"slug": "wall-painting"}]}}
    api.statements.clear()
    body = await api.graphql(query, {"slugs": [*at_limit, "one-more"]})
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["reason"] == "LIST_TOO_LONG"
    assert api.statements.statements == []


async def test_a_literal_slug_list_past_the_limit_is_refused(api: AppHarness) -> None:
    slugs = ", ".join(f'"s{i}"' for i in range(501))
    body = await api.graphql(f"{{ microServices(slugs: [{slugs}]) {{ slug }} }}")
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["reason"] == "LIST_TOO_LONG"


def _padded_body(size: int) -> bytes:
    body = json.dumps({"query": "{ __typename }"}).encode()
    return body + b" " * (size - len(body))  # JSON allows trailing whitespace


async def test_body_at_the_limit_passes_and_one_byte_more_is_413(api: AppHarness) -> None:
    headers = {"Content-Type": "application/json"}
    ok = await api.client.post("/graphql", content=_padded_body(100 * 1024), headers=headers)
    assert ok.status_code == 200
    assert ok.json() == {"data": {"__typename": "Query"}}
    refused = await api.client.post(
        "/graphql", content=_padded_body(100 * 1024 + 1), headers=headers
    )
    assert refused.status_code == 413
    assert error_codes(refused.json()) == ["PAYLOAD_TOO_LARGE"]


async def test_a_body_without_content_length_is_capped_while_read(api: AppHarness) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        body = _padded_body(100 * 1024 + 1)
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    refused = await api.client.post(
        "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert refused.status_code == 413


async def test_batched_requests_are_refused(api: AppHarness) -> None:
    response = await api.client.post(
        "/graphql", json=[{"query": "{ __typename }"}, {"query": "{ __typename }"}]
    )
    assert response.status_code == 400
    assert error_codes(response.json()) == ["BATCHING_NOT_SUPPORTED"]


async def test_introspection_can_be_turned_off(database_url: str) -> None:
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, introspection=False
    ) as app:
        body = await app.graphql("{ __schema { queryType { name } } }")
        assert set(error_codes(body)) == {"INTROSPECTION_DISABLED"}
        assert await app.graphql("{ __typename }") == {"data": {"__typename": "Query"}}


async def test_limit_errors_are_400_for_graphql_response_json(api: AppHarness) -> None:
    response = await api.client.post(
        "/graphql",
        json={"query": _aliases(201)},
        headers={"Accept": "application/graphql-response+json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/graphql-response+json")
    assert error_codes(response.json()) == ["MAX_ALIASES_EXCEEDED"]


async def test_a_mutation_with_more_publish_job_fields_than_the_limit_stores_nothing(
    api: AppHarness,
) -> None:
    fields = " ".join(
        f'p{i}: publishJob(input: {{microId: "wall-painting", answers: {{}}, '
        f'location: {{postcode: "SW1A 1AA"}}}}) {{ job {{ id }} }}'
        for i in range(50)  # over the limit of 10, under the token limit
    )
    api.statements.clear()
    response = await api.client.post("/graphql", json={"query": f"mutation {{ {fields} }}"})
    body = response.json()
    assert error_codes(body) == ["MAX_MUTATIONS_EXCEEDED"]
    assert body["errors"][0]["extensions"]["limit"] == 10
    assert api.statements.matching("INSERT INTO jobs") == []
