"""Customers' access tokens: this server is a resource server of the site's OpenID provider.

A token is a JWT signed by one of the issuer's keys (context/jwks.py) with an asymmetric
algorithm (RS256, ES256, EdDSA; HS256 only with the legacy shared secret `OIDC_HS256_SECRET`,
and then verified with that secret alone, never with a key of the key set). Its `iss` must be
`OIDC_ISSUER` exactly, its `aud` contain `OIDC_AUDIENCE`; `exp` and `sub` are required; `exp`,
`nbf` and `iat` are checked with a small leeway. The customer is the pair (iss, sub).

Cheap refusals come first, before any key is looked for: a token too long, a header that does
not parse, an algorithm not accepted, an unverified `iss` that is not ours. A foreign or junk
token therefore never makes the server ask the issuer for keys.

A verified token is remembered by its SHA-256 (bounded, until its `exp` and at most
`OIDC_TOKEN_CACHE_SECONDS`): the same token on the next request costs a hash, not a signature
check. The reason a token was refused is logged at debug level as a category only; the token
never is.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

import jwt
from cachetools import TLRUCache

from config import Settings
from context.jwks import KEY_TYPES, IssuerKeys, KeysUnavailableError, SigningKey
from domain.customers import Customer
from domain.errors import ServiceUnavailableError

log = logging.getLogger(__name__)

HS256 = "HS256"
MAX_SUBJECT_LENGTH = 255  # OpenID Connect's own bound on `sub`


def looks_like_jwt(token: str) -> bool:
    """Whether `token` has a compact JWS's shape (three dot-separated parts); anything else is
    refused without decoding."""
    return token.count(".") == 2


@dataclass(frozen=True, slots=True)
class _Verified:
    customer: Customer
    until: float  # wall-clock second the token's verdict stops being remembered


@dataclass(frozen=True, slots=True)
class _Claims:
    subject: str
    expires: float


class Refused(Exception):
    """A token is not accepted; the message is the category logged, never shown."""


class TokenVerifier:
    def __init__(
        self,
        keys: IssuerKeys,
        *,
        issuer: str,
        audience: str,
        leeway: float = 30.0,
        hs256_secret: str | None = None,
        max_token_bytes: int = 8192,
        cache_max_entries: int = 10_000,
        cache_seconds: float = 300.0,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self._audience = audience
        self._leeway = leeway
        self._secret = hs256_secret
        self._max_bytes = max_token_bytes
        self._cache_seconds = cache_seconds
        self._verified: TLRUCache[bytes, _Verified] | None = (
            TLRUCache(cache_max_entries, lambda _k, v, _now: v.until, timer=time.time)
            if cache_max_entries > 0
            else None
        )

    @classmethod
    def from_settings(cls, settings: Settings, keys: IssuerKeys) -> TokenVerifier:
        assert settings.oidc_issuer is not None, "no verifier without an issuer"
        secret = settings.oidc_hs256_secret
        return cls(
            keys,
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience,
            leeway=settings.oidc_leeway_seconds,
            hs256_secret=None if secret is None else secret.get_secret_value(),
            max_token_bytes=settings.oidc_max_token_bytes,
            cache_max_entries=settings.oidc_token_cache_max_entries,
            cache_seconds=settings.oidc_token_cache_seconds,
        )

    def remembered(self, token: str) -> Customer | None:
        """The customer of a token verified recently, without verifying it again."""
        if self._verified is None or len(token) > self._max_bytes:
            return None
        entry = self._verified.get(_digest(token))
        return None if entry is None else entry.customer

    async def verify(self, token: str) -> Customer | None:
        """The customer the token names, or None when it is not accepted (logged at debug as a
        category). ServiceUnavailableError when no key is held and the issuer cannot be reached:
        the token cannot be checked, which is not the same as wrong."""
        remembered = self.remembered(token)
        if remembered is not None:
            return remembered
        try:
            claims = await self._claims(token)
        except Refused as refused:
            log.debug("customer token refused: %s", refused)
            return None
        except KeysUnavailableError:
            raise ServiceUnavailableError("Sign-in cannot be checked right now.") from None
        customer = Customer(issuer=self.issuer, subject=claims.subject)
        if self._verified is not None:
            until = min(claims.expires, time.time() + self._cache_seconds)
            self._verified[_digest(token)] = _Verified(customer, until)
        return customer

    async def _claims(self, token: str) -> _Claims:
        if len(token) > self._max_bytes or not looks_like_jwt(token):
            raise Refused("malformed")
        try:
            parts = jwt.decode_complete(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise Refused("malformed") from None
        header, unverified = parts["header"], parts["payload"]
        algorithm = header.get("alg")
        if algorithm == HS256 and self._secret is not None:
            keys: list[SigningKey] | None = None
        elif algorithm in KEY_TYPES:
            keys = []
        else:
            raise Refused("algorithm")
        if unverified.get("iss") != self.issuer:
            raise Refused("issuer")
        if keys is None:
            assert self._secret is not None
            return self._decode(token, HS256, self._secret)
        kid = header.get("kid")
        keys = await self.keys.find(kid if isinstance(kid, str) else None, str(algorithm))
        if not keys:
            raise Refused("unknown key")
        refusal = Refused("signature")
        for key in keys:
            try:
                return self._decode(token, key.algorithm, key.key)
            except Refused as refused:
                refusal = refused
        raise refusal

    def _decode(self, token: str, algorithm: str, key: object) -> _Claims:
        try:
            claims: dict[str, object] = jwt.decode(
                token,
                key,  # type: ignore[arg-type]  # a cryptography key or the shared secret
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self.issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Refused("expired") from None
        except jwt.ImmatureSignatureError:
            raise Refused("not yet valid") from None
        except jwt.InvalidAudienceError:
            raise Refused("audience") from None
        except jwt.InvalidSignatureError:
            raise Refused("signature") from None
        except jwt.InvalidTokenError:
            raise Refused("claims") from None
        subject, expires = claims.get("sub"), claims.get("exp")
        if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT_LENGTH:
            raise Refused("subject")
        if not isinstance(expires, int | float):
            raise Refused("claims")
        return _Claims(subject, float(expires))


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
