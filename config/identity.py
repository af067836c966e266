"""Settings of customers' sign-in: the OpenID Connect issuer whose access tokens are accepted."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

SIGN_IN_SCOPE = "openid email profile"


class IdentitySettings(BaseSettings):
    """Customers' sign-in: the OpenID Connect issuer whose access tokens customers call with."""

    oidc_issuer: str | None = Field(
        None,
        description="The OpenID Connect issuer whose access tokens customers call with "
        "(`iss`, compared exactly). Unset: `serve` starts the development provider on "
        "loopback. `http://` only on a loopback address.",
    )
    oidc_audience: str = Field(
        "authenticated",
        description="What a token's `aud` must contain (Supabase Auth issues `authenticated`).",
    )
    oidc_jwks_url: str | None = Field(
        None,
        description="Where the issuer's signing keys are; default: `jwks_uri` of the issuer's "
        "discovery document, else `{issuer}/.well-known/jwks.json`. `http://` only on loopback.",
    )
    oidc_client_id: str = Field(
        "jobwizard-web",
        description="The public client id the /post page signs in with (`GET /auth/config`).",
    )
    oidc_hs256_secret: SecretStr | None = Field(
        None,
        description="Legacy shared secret (Supabase's JWT secret): when set, HS256 tokens are "
        "also accepted, verified with this secret only. Prefer asymmetric signing keys.",
    )
    oidc_leeway_seconds: float = Field(
        30.0,
        ge=0.0,
        le=300.0,
        description="Clock skew allowed on a token's `exp`, `nbf` and `iat`.",
    )
    oidc_fetch_timeout_seconds: float = Field(
        3.0,
        ge=0.1,
        le=60.0,
        description="Longest wait for the issuer's discovery document or keys, all of it.",
    )
    oidc_jwks_max_bytes: int = Field(
        256 * 1024,
        ge=1024,
        le=16 * 1024 * 1024,
        description="Largest discovery document or key set read from the issuer.",
    )
    oidc_jwks_min_interval_seconds: float = Field(
        5.0,
        ge=0.0,
        le=3600.0,
        description="Fetches of the keys for an unknown `kid` (a rotation): three at once, "
        "then one per this many seconds, so a flood of made-up key ids asks the issuer a "
        "bounded number of times.",
    )
    oidc_jwks_max_age_seconds: float = Field(
        3600.0,
        ge=10.0,
        le=7 * 86_400.0,
        description="Keys older than this are fetched again in the background (the old ones "
        "serve meanwhile, and while the issuer is down).",
    )
    oidc_token_cache_max_entries: int = Field(
        10_000,
        ge=0,
        le=10**7,
        description="Verified tokens remembered by their hash until they expire (at most "
        "`OIDC_TOKEN_CACHE_SECONDS`), so a repeated token costs no signature check; `0` off.",
    )
    oidc_token_cache_seconds: float = Field(
        300.0,
        ge=1.0,
        le=86_400.0,
        description="Longest a verified token is remembered (never past its `exp`).",
    )
    oidc_max_token_bytes: int = Field(
        8192,
        ge=256,
        le=65_536,
        description="Longer bearer tokens are refused unread.",
    )
    oidc_development: bool = Field(
        False,
        description="Set by `serve` when it started the development provider for "
        "`OIDC_ISSUER` (shown on /health and /auth/config); not for production.",
    )
    oidc_dev_port: int = Field(
        9400,
        ge=0,
        le=65535,
        description="Port of the development provider `serve` starts without `OIDC_ISSUER` "
        "(on 127.0.0.1; `0`: any free port).",
    )

    @field_validator("oidc_issuer", "oidc_jwks_url")
    @classmethod
    def _secure_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        check_fetchable(value)
        return value


def is_loopback_host(host: str) -> bool:
    """Whether `host` (a name or an address) is this machine's loopback."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_fetchable(url: str) -> None:
    """ValueError unless `url` is https, or http to a loopback address (the development
    provider, a test's issuer): keys fetched in clear over a network could be anyone's."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"must be an https:// URL, got {url!r}")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError(f"must use https:// unless on a loopback address, got {url!r}")
