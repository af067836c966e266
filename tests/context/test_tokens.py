"""Customers' access tokens verified against an issuer of the test's own (tests/support/
identity.py's KeyServer): what is accepted, what is refused and how cheaply, and how often the
issuer is asked for its keys."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from context.jwks import REFRESH_BURST, IssuerKeys
from context.tokens import TokenVerifier
from domain.customers import Customer
from domain.errors import ServiceUnavailableError
from tests.support.identity import KeyServer, forged, unsigned


class Clock:
    """A monotonic clock the test moves: the keys' refresh intervals without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def issuer() -> Iterator[KeyServer]:
    with KeyServer() as server:
        server.add_key("RS256")
        yield server


@asynccontextmanager
async def verifier_for(
    server: KeyServer, *, clock: Clock | None = None, max_bytes: int = 256 * 1024, **kw: Any
) -> AsyncIterator[TokenVerifier]:
    async with httpx.AsyncClient(timeout=3) as client:
        keys = IssuerKeys(
            client,
            issuer=server.url,
            timeout=3,
            max_bytes=max_bytes,
            min_interval=5.0,
            clock=clock or time.monotonic,
        )
        try:
            yield TokenVerifier(keys, issuer=server.url, audience="authenticated", **kw)
        finally:
            await keys.close()


async def test_each_accepted_algorithm_names_the_customer(issuer: KeyServer) -> None:
    kids = [issuer.published[0], issuer.add_key("ES256"), issuer.add_key("EdDSA")]
    async with verifier_for(issuer) as verifier:
        for kid in kids:
            token = issuer.mint(f"user-{kid}", kid=kid)
            assert await verifier.verify(token) == Customer(issuer.url, f"user-{kid}")
    assert issuer.jwks_requests == 1


async def test_foreign_and_forged_tokens_are_refused_before_any_fetch(issuer: KeyServer) -> None:
    pem = issuer.public_pem(issuer.published[0])
    claims = {"iss": issuer.url, "sub": "mallory", "aud": "authenticated", "exp": 2**31}
    hs256_input = unsigned(claims, {"alg": "HS256", "typ": "JWT"})
    refused = [
        issuer.mint(issuer=issuer.url + "/other"),  # another issuer
        "https://evil.example/" + issuer.mint(issuer="https://evil.example"),  # not a JWT
        forged(claims, {"alg": "none", "typ": "JWT"}),
        forged(claims, {"alg": "HS256"}, hmac.new(pem, hs256_input, hashlib.sha256).digest()),
        forged(claims, {"alg": "RS512"}, b"x" * 256),
        "not.a.token",
        issuer.mint(padding="x" * 10_000),  # past the size bound
    ]
    async with verifier_for(issuer) as verifier:
        for token in refused:
            assert await verifier.verify(token) is None
        assert issuer.requests == 0
        others = [
            issuer.mint(audience="somebody-else"),
            issuer.mint(expires_in=-120),  # past exp beyond the leeway
            issuer.mint(not_before_in=600),
            issuer.mint(iat=int(time.time()) + 600),
            issuer.mint(kid=issuer.add_key(publish=False), header_kid=issuer.published[0]),
            issuer.mint(subject=""),
        ]
        for token in others:
            assert await verifier.verify(token) is None
        assert await verifier.verify(issuer.mint(audience=["x", "authenticated"])) is not None
    assert issuer.jwks_requests == 1


async def test_a_flood_of_unknown_key_ids_asks_the_issuer_a_bounded_number_of_times(
    issuer: KeyServer,
) -> None:
    junk = [issuer.mint(header_kid=f"junk-{n}") for n in range(300)]
    async with verifier_for(issuer) as verifier:
        assert await asyncio.gather(*(verifier.verify(t) for t in junk[:200])) == [None] * 200
        for token in junk[200:]:
            assert await verifier.verify(token) is None
        assert await verifier.verify(issuer.mint()) is not None
    # One fetch shared by the concurrent ones, then the burst; the rest wait for the interval.
    assert issuer.jwks_requests == REFRESH_BURST


async def test_a_rotated_key_is_picked_up_at_once_and_after_a_flood_within_the_interval(
    issuer: KeyServer,
) -> None:
    clock = Clock()
    async with verifier_for(issuer, clock=clock) as verifier:
        assert await verifier.verify(issuer.mint("old")) is not None
        rotated = issuer.add_key("ES256")
        issuer.published.remove(issuer.published[0])
        assert await verifier.verify(issuer.mint("new", kid=rotated)) == Customer(issuer.url, "new")
        for n in range(10):  # junk empties the bucket
            assert await verifier.verify(issuer.mint(kid=rotated, header_kid=f"junk-{n}")) is None
        assert issuer.jwks_requests == REFRESH_BURST
        again = issuer.add_key("EdDSA")
        token = issuer.mint("newer", kid=again)
        assert await verifier.verify(token) is None  # not asked again yet
        clock.now += 6
        assert await verifier.verify(token) == Customer(issuer.url, "newer")
    assert issuer.jwks_requests == REFRESH_BURST + 1


async def test_an_issuer_that_is_down_leaves_held_keys_verifying(issuer: KeyServer) -> None:
    clock = Clock()
    async with verifier_for(issuer, clock=clock) as verifier:
        assert await verifier.verify(issuer.mint("first")) is not None
        issuer.down = True
        clock.now += 10_000  # past the interval and the keys' maximum age
        assert await verifier.verify(issuer.mint("second")) is not None
        assert await verifier.verify(issuer.mint(header_kid="unknown")) is None
        await asyncio.sleep(0)  # let the background refresh finish failing
        assert await verifier.verify(issuer.mint("third")) is not None


async def test_no_key_held_and_no_issuer_is_unavailable_not_unauthenticated(
    issuer: KeyServer,
) -> None:
    issuer.down = True
    async with verifier_for(issuer) as verifier:
        for _ in range(10):
            with pytest.raises(ServiceUnavailableError):
                await verifier.verify(issuer.mint())
    assert issuer.requests == REFRESH_BURST  # failed fetches are not retried past the bucket


async def test_a_key_set_past_the_size_bound_is_not_read(issuer: KeyServer) -> None:
    for _ in range(3):
        issuer.add_key("RS256")
    async with verifier_for(issuer, max_bytes=1024) as verifier:
        with pytest.raises(ServiceUnavailableError):
            await verifier.verify(issuer.mint())


async def test_hs256_is_accepted_only_with_the_legacy_secret(issuer: KeyServer) -> None:
    import jwt

    claims = {"iss": issuer.url, "sub": "legacy", "aud": "authenticated", "exp": 2**31}
    token = jwt.encode(claims, "a-long-shared-secret-of-the-project", algorithm="HS256")
    async with verifier_for(issuer) as verifier:
        assert await verifier.verify(token) is None
    async with verifier_for(issuer, hs256_secret="a-long-shared-secret-of-the-project") as legacy:
        assert await legacy.verify(token) == Customer(issuer.url, "legacy")
        other = jwt.encode(claims, "another-secret-of-32-bytes-or-more", algorithm="HS256")
        assert await legacy.verify(other) is None
    assert issuer.requests == 0


async def test_a_verified_token_is_remembered_no_longer_than_it_lives(issuer: KeyServer) -> None:
    async with verifier_for(issuer) as verifier:
        lasting, ending = issuer.mint("lasting"), issuer.mint("ending", expires_in=-5)
        assert await verifier.verify(lasting) is not None
        assert await verifier.verify(ending) is not None  # within the leeway
        assert verifier.remembered(lasting) == Customer(issuer.url, "lasting")
        assert verifier.remembered(ending) is None
