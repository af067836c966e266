"""Customers for tests: the development OpenID provider in a thread (what `serve` starts), and
real access tokens from it through the authorization-code flow with PKCE; and a small issuer
of the test's own (`KeyServer`) whose keys a test makes, rotates and signs tokens with."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from ops.identity_provider import DevelopmentProvider

CLIENT_ID = "jobwizard-web"
REDIRECT_URI = "http://127.0.0.1:8000/post/"


class TestIssuer:
    """A running development provider (in this process or a server's): `url` is its issuer,
    `token(subject)` signs a customer in and returns their access token."""

    __test__ = False  # a helper, not a test class

    def __init__(self, url: str) -> None:
        self.url = url

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
        yield TestIssuer(provider.url)


class KeyServer:
    """A small issuer of the test's own on 127.0.0.1: discovery and a JWKS of keys the test
    makes, publishes and rotates, tokens it signs by hand, a count of key-set requests, and a
    switch that makes it fail (an issuer that is down)."""

    def __init__(self) -> None:
        self._private: dict[str, tuple[str, Any]] = {}  # kid -> (algorithm, private key)
        self.published: list[str] = []
        self.jwks_requests = 0  # of the key set
        self.requests = 0  # of anything, answered or not
        self.down = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> KeyServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def add_key(self, algorithm: str = "RS256", *, publish: bool = True) -> str:
        """A new signing key; its kid. Published in the key set unless told otherwise."""
        private: Any
        if algorithm == "RS256":
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif algorithm == "ES256":
            private = ec.generate_private_key(ec.SECP256R1())
        else:
            private = ed25519.Ed25519PrivateKey.generate()
        kid = secrets.token_urlsafe(8)
        self._private[kid] = (algorithm, private)
        if publish:
            self.published.append(kid)
        return kid

    def public_pem(self, kid: str) -> bytes:
        return cast(
            bytes,
            self._private[kid][1]
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid in self.published:
            algorithm, private = self._private[kid]
            public = private.public_key()
            if algorithm == "RS256":
                jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
            elif algorithm == "ES256":
                jwk = ECAlgorithm.to_jwk(public, as_dict=True)
            else:
                jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
            keys.append({**jwk, "kid": kid, "use": "sig"})
        return {"keys": keys}

    def mint(
        self,
        subject: str = "alice",
        *,
        kid: str | None = None,
        issuer: str | None = None,
        audience: str | list[str] = "authenticated",
        expires_in: int = 300,
        not_before_in: int | None = None,
        header_kid: str | None = None,
        **claims: Any,
    ) -> str:
        """A token signed by `kid` (the first published key by default)."""
        kid = kid or self.published[0]
        algorithm, private = self._private[kid]
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": issuer or self.url,
            "sub": subject,
            "aud": audience,
            "iat": now,
            "exp": now + expires_in,
            **claims,
        }
        if not_before_in is not None:
            payload["nbf"] = now + not_before_in
        return jwt.encode(payload, private, algorithm=algorithm, headers={"kid": header_kid or kid})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                if server.down:
                    self.send_error(503)
                    return
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": server.url, "jwks_uri": server.url + "/keys"}
                elif self.path == "/keys":
                    server.jwks_requests += 1
                    body = server.jwks()
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def unsigned(payload: dict[str, Any], header: dict[str, Any]) -> bytes:
    """The signing input of a token made by hand (for forgeries PyJWT refuses to make)."""
    part = [
        base64.urlsafe_b64encode(json.dumps(p).encode()).rstrip(b"=") for p in (header, payload)
    ]
    return b".".join(part)


def forged(payload: dict[str, Any], header: dict[str, Any], signature: bytes = b"") -> str:
    return (
        unsigned(payload, header) + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")
    ).decode()
