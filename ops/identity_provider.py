"""The development OpenID provider: what `serve` starts when no `OIDC_ISSUER` is set, so that
/post can sign a customer in with no setup, and what the tests sign their customers in with.

It is oidc-provider-mock (a Flask app on authlib) served by werkzeug in a thread of this
process, on 127.0.0.1 only: anyone may sign in as anyone, by typing a name. Two changes to the
package's own app:

- access tokens are JWTs (RFC 9068: iss, sub, aud, exp, iat, client_id, scope, jti; `kid` in
  the header), signed RS256 with the provider's own key, the one its /jwks serves, so that this
  API verifies them exactly as it verifies a real provider's (the package issues opaque ones);
- public clients (token endpoint authentication "none"), as a browser page is one; CORS headers
  for loopback origins, since the /post page calls the token endpoint with fetch; and without
  the werkzeug debugger the package turns on (it runs code sent to it).

The provider does not verify PKCE's code_verifier (the package keeps no code_challenge); the
client sends both anyway, as it would to a real provider.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import flask
import jwt
import werkzeug.serving
from werkzeug.debug import DebuggedApplication

from config import Settings
from config.identity import is_loopback_host

with warnings.catch_warnings():
    # authlib warns at import about its own `jose` module, which the package still uses (and
    # its warnings module turns them all on when imported: set aside here with the rest).
    import authlib.deprecate

    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    import oidc_provider_mock
    from oidc_provider_mock import _app as provider_app

log = logging.getLogger("jobwizard")

ALGORITHM = "RS256"
HOST = "127.0.0.1"
# A browser page is a public client: it has no secret and says so ("none"), with PKCE.
TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


class _QuietHandler(werkzeug.serving.WSGIRequestHandler):
    """No line per request: the package logs each sign-in itself, and errors still show."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class _OpenIDCode(provider_app.OpenIDCode):  # type: ignore[misc]
    """The package's ID-token settings, given to authlib through its current interface: its
    deprecated one warns on every token, which a process running with warnings as errors (the
    tests) turns into a failed sign-in."""

    def resolve_client_private_key(self, client: Any) -> Any:
        return self.get_jwt_config(None, client)["key"]

    def get_client_algorithm(self, client: Any) -> str:
        return ALGORITHM

    def get_client_claims(self, client: Any) -> dict[str, Any]:
        config = self.get_jwt_config(None, client)
        return {"iss": config["iss"], "exp": int(time.time()) + config["exp"]}

    def get_encode_header(self, client: Any) -> dict[str, str]:
        return {"alg": ALGORITHM, "kid": self.resolve_client_private_key(client)["kid"]}


# The package's blueprint builds its grants from these names when an app registers it.
provider_app.OpenIDCode = _OpenIDCode
for _grant in (provider_app.AuthorizationCodeGrant, provider_app.RefreshTokenGrant):
    _grant.TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_ENDPOINT_AUTH_METHODS


def loopback_origin(origin: str) -> bool:
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and is_loopback_host(parts.hostname or "")


class DevelopmentProvider:
    """The provider on 127.0.0.1:`port` (0: any free port), in a daemon thread while entered."""

    def __init__(
        self,
        *,
        port: int = 0,
        audience: str = "authenticated",
        token_lifetime_seconds: int = 3600,
    ) -> None:
        self._port = port
        self._audience = audience
        self._lifetime = token_lifetime_seconds
        self._server: werkzeug.serving.BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._signing: tuple[str, Any] | None = None  # the key's id and private key

    @property
    def url(self) -> str:
        """The issuer: what its tokens carry as `iss`, and what `OIDC_ISSUER` must say."""
        assert self._server is not None, "the provider is not running"
        return f"http://{HOST}:{self._server.server_port}"

    def __enter__(self) -> DevelopmentProvider:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        server = werkzeug.serving.make_server(
            HOST, self._port, self.wsgi_app(), threaded=True, request_handler=_QuietHandler
        )
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()
        thread.join(5)
        self._server = self._thread = None

    def wsgi_app(self) -> flask.Flask:
        package = Path(oidc_provider_mock.__file__).parent
        app = flask.Flask(__name__, template_folder=str(package / "templates"))
        # Read by authlib when the package's blueprint sets the authorization server up.
        app.config["OAUTH2_ACCESS_TOKEN_GENERATOR"] = self._access_token
        oidc_provider_mock.init_app(app, access_token_max_age=timedelta(seconds=self._lifetime))
        if isinstance(app.wsgi_app, DebuggedApplication):
            app.wsgi_app = app.wsgi_app.app  # type: ignore[method-assign,assignment]
        app.debug = False
        app.secret_key = secrets.token_bytes(16)
        app.after_request(_cors)
        return app

    def _access_token(self, client: Any, grant_type: str, user: Any, scope: str) -> str:
        now = int(time.time())
        kid, key = self._key()
        claims = {
            "iss": self.url,
            "sub": user.sub,
            "aud": self._audience,
            "exp": now + self._lifetime,
            "iat": now,
            "client_id": client.get_client_id(),
            "scope": scope,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid, "typ": "at+jwt"})

    def _key(self) -> tuple[str, Any]:
        """The provider's own signing key (the one /jwks publishes), as PyJWT signs with it."""
        if self._signing is None:
            private = flask.g.oidc_provider_mock_storage.jwk.as_dict(is_private=True)
            if not private.get("kid"):
                raise RuntimeError("the provider's key has no kid")
            self._signing = private["kid"], jwt.PyJWK(private, ALGORITHM).key
        return self._signing


def _cors(response: flask.Response) -> flask.Response:
    origin = flask.request.headers.get("Origin")
    if origin and loopback_origin(origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
        if flask.request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = flask.request.headers.get(
                "Access-Control-Request-Headers", "Content-Type, Authorization"
            )
            response.headers["Access-Control-Max-Age"] = "600"
    return response


def refusal(settings: Settings) -> str | None:
    """Why `serve` must not start as configured, or None: the development provider signs anyone
    in as anyone, so it serves only an API bound to loopback."""
    development = settings.oidc_issuer is None or settings.oidc_development
    if development and not is_loopback_host(settings.host):
        return (
            "No OIDC_ISSUER is set, so customers would sign in with the development identity "
            f"provider, where anyone can be anyone; it runs only with a loopback HOST (got "
            f"{settings.host!r}). Set OIDC_ISSUER to your OpenID provider, or HOST=127.0.0.1."
        )
    return None


@contextmanager
def development_identity(settings: Settings) -> Iterator[Settings]:
    """`settings` as they are with an `OIDC_ISSUER`; else the development provider runs while
    the block does, and the settings (and the environment, for worker processes) name it as the
    issuer, marked as the development one."""
    if settings.oidc_issuer is not None:
        yield settings
        return
    try:
        provider = DevelopmentProvider(port=settings.oidc_dev_port, audience=settings.oidc_audience)
        provider.start()
    except OSError as exc:
        raise OSError(
            f"the development identity provider cannot listen on {HOST}:"
            f"{settings.oidc_dev_port} ({exc.strerror}); set OIDC_DEV_PORT (0: any free port) "
            "or OIDC_ISSUER"
        ) from exc
    try:
        log.warning(
            "customers sign in with the development identity provider at %s (anyone can sign "
            "in as anyone: set OIDC_ISSUER for real customers)",
            provider.url,
        )
        os.environ.update(OIDC_ISSUER=provider.url, OIDC_DEVELOPMENT="true")
        yield settings.replace(oidc_issuer=provider.url, oidc_development=True)
    finally:
        provider.stop()
