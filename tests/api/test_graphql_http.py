"""The parts of GraphQL over HTTP the audit does not pin down: 405 for mutations over GET,
media types, GraphiQL for browsers, CORS, NUL characters."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api.protocol import APPLICATION_JSON, GRAPHQL_RESPONSE_JSON, negotiate
from tests.support import AppHarness, running_app

ORIGIN = "https://app.example"


async def test_mutations_over_get_are_405_with_allow_post(api: AppHarness) -> None:
    response = await api.client.get(
        "/graphql",
        params={
            "query": 'mutation { publishJob(input: {microId: "x", answers: {}, '
            'location: {postcode: "M1 1AE"}}) { job { id } } }'
        },
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


async def test_queries_over_get_are_answered(api: AppHarness) -> None:
    response = await api.client.get(
        "/graphql", params={"query": '{ microService(slug: "wall-painting") { slug } }'}
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"microService": {"slug": "wall-painting"}}}
    assert response.headers["vary"] == "Accept, Accept-Encoding"


async def test_a_browser_gets_graphiql(api: AppHarness) -> None:
    response = await api.client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


async def test_an_unservable_accept_header_is_406(api: AppHarness) -> None:
    response = await api.client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Accept": "text/html"}
    )
    assert response.status_code == 406


async def test_other_content_types_are_415(api: AppHarness) -> None:
    response = await api.client.post(
        "/graphql", content="{ __typename }", headers={"Content-Type": "application/graphql"}
    )
    assert response.status_code == 415


async def test_field_errors_keep_data_and_200_under_graphql_response_json(api: AppHarness) -> None:
    response = await api.client.post(
        "/graphql",
        json={"query": 'query { job(id: "00000000-0000-0000-0000-000000000000") { id } }'},
        headers={"Accept": GRAPHQL_RESPONSE_JSON},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"job": None}
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, APPLICATION_JSON),
        ("*/*", APPLICATION_JSON),
        ("application/json", APPLICATION_JSON),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        (f"application/json, {GRAPHQL_RESPONSE_JSON};q=0.5", APPLICATION_JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0, */*", APPLICATION_JSON),
        # urql's Accept: both named at one q, so the spec's type wins the tie.
        (
            f"{GRAPHQL_RESPONSE_JSON}, application/graphql+json, application/json, "
            "text/event-stream, multipart/mixed",
            GRAPHQL_RESPONSE_JSON,
        ),
        (f"application/json, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        ("application/*", APPLICATION_JSON),
        ("text/html", None),
    ],
)
def test_content_negotiation(accept: str | None, chosen: str | None) -> None:
    assert negotiate(accept) == chosen


def test_a_long_accept_is_negotiated_without_being_remembered() -> None:
    # Remembered answers are bounded in the length of a value too: a long one is worked out
    # every time, to the same answer.
    padding = ", ".join(f"text/x-{i}" for i in range(40))
    accept = f"{padding}, {GRAPHQL_RESPONSE_JSON}"
    assert len(accept) > 256
    assert negotiate(accept) == GRAPHQL_RESPONSE_JSON
    assert negotiate(f"{padding}, text/html") is None
    assert negotiate("   ") == APPLICATION_JSON


@pytest.fixture
async def cors_api(database_url: str) -> AsyncIterator[AppHarness]:
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, cors_origins=(ORIGIN,)
    ) as harness:
        yield harness


async def test_cors_preflight_allows_a_listed_origin_with_the_api_headers(
    cors_api: AppHarness,
) -> None:
    response = await cors_api.client.options(
        "/graphql",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    allowed = response.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "idempotency-key"} <= {
        h.strip() for h in allowed.split(",")
    }
    actual = await cors_api.client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": ORIGIN}
    )
    assert actual.headers["access-control-allow-origin"] == ORIGIN


async def test_cors_preflight_refuses_an_unlisted_origin(cors_api: AppHarness) -> None:
    response = await cors_api.client.options(
        "/graphql",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_without_cors_origins_no_cross_origin_access_is_granted(api: AppHarness) -> None:
    response = await api.client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": ORIGIN}
    )
    assert "access-control-allow-origin" not in response.headers


NUL_INPUTS = [
    # (query, variables): a NUL in a variable, a key, a nested value, a literal's escape.
    ("query($c: String) { microServices(category: $c) { slug } }", {"c": "pa\x00inting"}),
    ("query($s: [String!]) { microServices(slugs: $s) { slug } }", {"s": ["ok", "x\x00"]}),
    (
        "mutation($i: PublishJobInput!) { publishJob(input: $i) { job { id } } }",
        {
            "i": {
                "microId": "wall-painting",
                "answers": {"room\x00": 1},
                "idempotencyKey": "k",
                "location": {"postcode": "SW1A 1AA"},
            }
        },
    ),
    ('{ microService(slug: "nul\\u0000") { slug } }', None),
]


@pytest.mark.parametrize(("query", "variables"), NUL_INPUTS)
async def test_a_nul_character_anywhere_is_bad_user_input(
    api: AppHarness, query: str, variables: dict[str, object] | None
) -> None:
    # PostgreSQL text cannot hold NUL: such a value used to fail deep in a statement, as
    # INTERNAL_SERVER_ERROR, or leave a lookup event that could never be stored.
    response = await api.client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "U+0000" in error["message"]


async def test_a_nul_over_get_is_bad_user_input_too(api: AppHarness) -> None:
    response = await api.client.get(
        "/graphql", params={"query": '{ microService(slug: "a\x00") { slug } }'}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_an_escaped_backslash_before_u0000_is_no_nul(api: AppHarness) -> None:
    body = await api.graphql('{ microService(slug: "back\\\\u0000") { slug } }')
    assert body == {"data": {"microService": None}}
