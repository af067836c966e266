"""Customers for tests: the development OpenID provider in a thread (what `serve` starts), and
real access tokens from it through the authorization-code flow with PKCE."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import httpx

from ops.identity_provider import DevelopmentProvider

CLIENT_ID = "jobwizard-web"
REDIRECT_URI = "http://127.0.0.1:8000/post/"


class TestIssuer:
    """A running development provider: `url` is its issuer, `token(subject)` signs a customer
    in and returns their access token."""

    __test__ = False  # a helper, not a test class

    def __init__(self, provider: DevelopmentProvider) -> None:
        self.provider = provider

    @property
    def url(self) -> str:
        return self.provider.url

    def token(self, subject: str, *, scope: str = "openid email profile") -> str:
        """A real access token of `subject`: authorize (the sign-in form posted with `sub`),
        then the code exchanged at the token endpoint with its PKCE verifier."""
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        state = secrets.token_urlsafe(8)
        with httpx.Client(base_url=self.url, follow_redirects=False, timeout=10) as client:
            authorized = client.post(
                "/oauth2/authorize",
                params={
                    "response_type": "code",
                    "client_id": CLIENT_ID,
                    "redirect_uri": REDIRECT_URI,
                    "scope": scope,
                    "state": state,
                    "code_challenge": challenge,
                    "code_challenge_method": "S256",
                },
                data={"sub": subject},
            )
            assert authorized.status_code == 302, authorized.text
            query = parse_qs(urlsplit(authorized.headers["location"]).query)
            assert query["state"] == [state]
            exchanged = client.post(
                "/oauth2/token",
                data={
                    "grant_type": "authorization_code",
                    "code": query["code"][0],
                    "redirect_uri": REDIRECT_URI,
                    "client_id": CLIENT_ID,
                    "code_verifier": verifier,
                },
            )
            assert exchanged.status_code == 200, exchanged.text
            token: str = exchanged.json()["access_token"]
            return token


@contextmanager
def running_issuer(*, audience: str = "authenticated") -> Iterator[TestIssuer]:
    """The development provider on 127.0.0.1, any free port, while the block runs."""
    with DevelopmentProvider(port=0, audience=audience) as provider:
        yield TestIssuer(provider)
