"""Customers through the app: a token from the development provider (signed in with the
authorization-code flow and PKCE) names its customer; keys and tokens never mix."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from context.auth import RequestAuth
from domain.customers import Customer
from tests.support import AppHarness, running_app
from tests.support.identity import TestIssuer


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
