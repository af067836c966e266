"""Customers through the app: a token from the development provider (signed in with the
authorization-code flow and PKCE) names its customer; keys and tokens never mix; customers have
their own rate budget, their answers are never cached publicly, and a WebSocket takes their
token as it takes a key."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from context.auth import INVALID_TOKEN, RequestAuth
from domain.customers import Customer
from domain.errors import UnauthenticatedError
from tests.api.ws_support import PROTOCOL, ws_url
from tests.support import AppHarness, running_app
from tests.support.identity import TestIssuer
from tests.support.keys import IssuedKey
from tests.support.live_server import live_server

MakeKey = Callable[..., Awaitable[IssuedKey]]
LOOKUP = '{ microService(slug: "wall-painting") { id } }'
CACHEABLE = "{ categories { slug } }"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def customers_api(database_url: str, oidc_issuer: TestIssuer) -> AsyncIterator[AppHarness]:
    """The app verifying the development provider's tokens."""
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, oidc_issuer=oidc_issuer
    ) as harness:
        yield harness


def request_auth(api: AppHarness, token: str | None) -> RequestAuth:
    state = api.app_state
    return RequestAuth(state.pool, token, state.keys, tokens=state.tokens)


async def test_a_signed_in_customer_is_the_issuer_and_subject(
    customers_api: AppHarness, oidc_issuer: TestIssuer
) -> None:
    auth = request_auth(customers_api, oidc_issuer.token("alice"))
    expected = Customer(issuer=oidc_issuer.url, subject="alice")
    assert await auth.customer() == expected
    assert await auth.require_customer() == expected
    assert await auth.principal() == expected
    assert auth.presented
    assert await auth.caller() is None


async def test_health_and_auth_config_name_the_issuer(
    customers_api: AppHarness, oidc_issuer: TestIssuer
) -> None:
    config = await customers_api.client.get("/auth/config")
    assert config.json() == {
        "issuer": oidc_issuer.url,
        "clientId": "jobwizard-web",
        "scope": "openid email profile",
        "development": False,
    }
    await customers_api.graphql(LOOKUP, headers=bearer(oidc_issuer.token("bob")))
    identity = (await customers_api.client.get("/health")).json()["identity"]
    assert identity["customers"] is True
    assert identity["issuer"] == oidc_issuer.url
    assert identity["keys"]["held"] >= 1


async def test_a_customer_has_a_budget_of_their_own_and_a_bad_token_is_anonymous(
    customers_api: AppHarness, oidc_issuer: TestIssuer, make_api_key: MakeKey
) -> None:
    key = await make_api_key("jobs:read")
    token = oidc_issuer.token("carol")
    expired_elsewhere = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for headers, policy in (
        (bearer(token), '"customer";q=6000;w=60'),
        (bearer(expired_elsewhere), '"anonymous";q=3000;w=60'),
        (key.headers, '"key";q=60000;w=60'),
    ):
        response = await customers_api.client.post(
            "/graphql", json={"query": LOOKUP}, headers=headers
        )
        assert response.headers["RateLimit-Policy"] == policy
        assert "errors" not in response.json()


async def test_a_customers_answers_are_never_cached_publicly(
    customers_api: AppHarness, oidc_issuer: TestIssuer
) -> None:
    token = bearer(oidc_issuer.token("dave"))
    public = await customers_api.client.get("/graphql", params={"query": CACHEABLE})
    assert public.headers["cache-control"].startswith("public, max-age=")
    private = await customers_api.client.get("/graphql", params={"query": CACHEABLE}, headers=token)
    assert private.headers["cache-control"].startswith("private, max-age=")
    assert private.content == public.content  # a cacheable operation is the same for everyone
    etag = private.headers["etag"]
    revalidated = await customers_api.client.get(
        "/graphql", params={"query": CACHEABLE}, headers={**token, "If-None-Match": etag}
    )
    assert revalidated.status_code == 304
    assert revalidated.headers["cache-control"].startswith("private, ")
    for response in (
        await customers_api.client.post("/graphql", json={"query": CACHEABLE}, headers=token),
        await customers_api.client.post(
            "/graphql", json={"query": "{ __typename }"}, headers=token
        ),
    ):
        assert response.headers["cache-control"] == "no-store"


async def test_refused_tokens_are_unauthenticated_with_one_message(
    customers_api: AppHarness, oidc_issuer: TestIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    token = oidc_issuer.token("erin")
    bad = [token[:-4] + "AAAA", token.replace(".", "..", 1), "a.b.c"]
    messages = set()
    for candidate in bad:
        auth = request_auth(customers_api, candidate)
        with pytest.raises(UnauthenticatedError) as refused:
            await auth.require_customer()
        messages.add(str(refused.value))
        assert await auth.principal() is None
    assert messages == {INVALID_TOKEN}
    assert not any(
        candidate in record.getMessage() for record in caplog.records for candidate in bad
    )
    with pytest.raises(UnauthenticatedError):
        await request_auth(customers_api, None).require_customer()
    with pytest.raises(UnauthenticatedError):  # a customer is not an API key
        await request_auth(customers_api, token).require_key()


async def test_without_an_issuer_no_bearer_is_a_customer(
    api: AppHarness, oidc_issuer: TestIssuer
) -> None:
    assert api.app_state.tokens is None
    auth = request_auth(api, oidc_issuer.token("frank"))
    assert await auth.customer() is None
    assert (await api.client.get("/health")).json()["identity"] == {"customers": False}


async def test_a_customers_token_opens_a_websocket_and_a_bad_one_is_refused(
    database_url: str, oidc_issuer: TestIssuer
) -> None:
    async with live_server(database_url, oidc_issuer=oidc_issuer, cache_warm_up=False) as base:
        token = oidc_issuer.token("grace")
        for bearer_value, accepted in ((token, True), (token[:-4] + "AAAA", False)):
            async with connect(ws_url(base), subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
                init = {
                    "type": "connection_init",
                    "payload": {"Authorization": f"Bearer {bearer_value}"},
                }
                await ws.send(json.dumps(init))
                if accepted:
                    ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    assert ack["type"] == "connection_ack"
                    continue
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 5)
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 4403
