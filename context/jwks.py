"""The issuer's signing keys (its JWKS), fetched over HTTP and kept in memory.

Where they are: `OIDC_JWKS_URL`, else the `jwks_uri` of the issuer's discovery document, else
`{issuer}/.well-known/jwks.json` (an issuer without discovery). Every fetch is bounded: in time
(one deadline for discovery and keys together), in bytes, and in where it may go (a redirect
only to the same origin; http only on loopback).

When they are fetched: once at start (in the background), when a token names a key id the set
does not hold (a rotation), and in the background once the set is older than its maximum age.
Fetches for unknown key ids are single-flight (concurrent tokens share one fetch) and rate
limited by a small token bucket: a few at once (a rotation is picked up at the first token that
names the new key, even right after another fetch), then one per
`OIDC_JWKS_MIN_INTERVAL_SECONDS`; so a flood of tokens with made-up key ids asks the issuer a
bounded number of times. A failed fetch keeps the keys already held: an issuer that is down
leaves tokens signed by known keys verifiable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from jwt import PyJWK, PyJWTError

from config.identity import check_fetchable

log = logging.getLogger(__name__)

# The asymmetric algorithms accepted, and the key type (and curve) each one needs.
KEY_TYPES: dict[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "EdDSA": ("OKP", "Ed25519"),
}
MAX_REDIRECTS = 3
# Fetches for unknown key ids allowed back to back before the interval applies.
REFRESH_BURST = 3
DISCOVERY_PATH = "/.well-known/openid-configuration"
FALLBACK_JWKS_PATH = "/.well-known/jwks.json"


class KeysUnavailableError(Exception):
    """No signing key is held and the issuer cannot be reached for one."""


class FetchError(Exception):
    """A discovery document or key set could not be had (the message is the reason)."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str | None
    algorithm: str
    key: Any  # a `cryptography` public key, as PyJWT builds it from the JWK


def signing_keys(document: object) -> list[SigningKey]:
    """The usable signature keys of a JWKS document: of an accepted type (RSA, EC P-256,
    Ed25519), for signing, whose `alg` (when given) is the one their type goes with. Symmetric
    (`oct`) keys are never taken from a key set."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise FetchError("not a key set")
    keys = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        for algorithm, (kty, curve) in KEY_TYPES.items():
            if entry.get("kty") != kty or entry.get("crv") != curve:
                continue
            if entry.get("alg", algorithm) != algorithm:
                continue
            kid = entry.get("kid")
            try:
                key = PyJWK(entry, algorithm).key
            except PyJWTError:
                continue
            keys.append(SigningKey(kid if isinstance(kid, str) else None, algorithm, key))
    return keys


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


class IssuerKeys:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        issuer: str,
        jwks_url: str | None = None,
        timeout: float = 3.0,
        max_bytes: int = 256 * 1024,
        min_interval: float = 5.0,
        max_age: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._issuer = issuer.rstrip("/")
        self._jwks_url = jwks_url
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._min_interval = min_interval
        self._max_age = max_age
        self._clock = clock
        self._keys: list[SigningKey] = []
        self._fetched_at: float | None = None  # of the keys held
        self._allowance = float(REFRESH_BURST)  # fetches for unknown key ids allowed now
        self._allowance_at = clock()
        self._inflight: asyncio.Task[None] | None = None
        self.fetches = 0  # attempts, successful or not
        self.failures = 0

    @property
    def held(self) -> int:
        return len(self._keys)

    @property
    def age(self) -> float | None:
        """Seconds since the keys held were fetched; None before the first success."""
        return None if self._fetched_at is None else self._clock() - self._fetched_at

    def start(self) -> None:
        """Fetch the keys in the background, so the first token need not wait for them."""
        self._begin()

    async def close(self) -> None:
        task = self._inflight
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def find(self, kid: str | None, algorithm: str) -> list[SigningKey]:
        """The keys that may have signed a token with this key id and algorithm (a token
        without `kid`: every key of that algorithm). An unknown key id fetches the set again,
        at most once per interval; KeysUnavailableError when no key is held at all and the
        issuer cannot give any."""
        found = self._match(kid, algorithm)
        if found:
            age = self.age
            if age is not None and age > self._max_age:
                self._begin()
            return found
        inflight = self._inflight is not None and not self._inflight.done()
        if not inflight and not self._may_fetch():
            if not self._keys:
                raise KeysUnavailableError
            return []
        await asyncio.shield(self._begin())
        if not self._keys:
            raise KeysUnavailableError
        return self._match(kid, algorithm)

    def _match(self, kid: str | None, algorithm: str) -> list[SigningKey]:
        return [
            key
            for key in self._keys
            if key.algorithm == algorithm and (kid is None or key.kid == kid)
        ]

    def _may_fetch(self) -> bool:
        """Take one fetch from the bucket, refilled one per interval up to the burst."""
        if self._min_interval <= 0:
            return True
        now = self._clock()
        refill = (now - self._allowance_at) / self._min_interval
        self._allowance = min(float(REFRESH_BURST), self._allowance + refill)
        self._allowance_at = now
        if self._allowance < 1:
            return False
        self._allowance -= 1
        return True

    def _begin(self) -> asyncio.Task[None]:
        """The fetch in flight, or a new one."""
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.create_task(self._refresh())
        return self._inflight

    async def _refresh(self) -> None:
        self.fetches += 1
        try:
            async with asyncio.timeout(self._timeout):
                keys = signing_keys(await self._get(await self._jwks_location()))
            if not keys:
                raise FetchError("no usable signature key")
        except (FetchError, httpx.HTTPError, httpx.InvalidURL, TimeoutError, ValueError) as exc:
            self.failures += 1
            reason = str(exc) if isinstance(exc, FetchError) else type(exc).__name__
            log.warning(
                "identity: the issuer's signing keys could not be fetched (%s); %s",
                reason,
                "verifying with the keys held" if self._keys else "no key held yet",
            )
            return
        self._keys, self._fetched_at = keys, self._clock()
        log.info("identity: %d signing key(s) fetched from the issuer", len(keys))

    async def _jwks_location(self) -> str:
        if self._jwks_url is None:
            url = self._issuer + DISCOVERY_PATH
            try:
                document = await self._get(url)
            except FetchError as exc:
                if exc.status != 404:
                    raise
                self._jwks_url = self._issuer + FALLBACK_JWKS_PATH
            else:
                found = document.get("jwks_uri") if isinstance(document, dict) else None
                if not isinstance(found, str):
                    raise FetchError("the discovery document has no jwks_uri")
                try:
                    check_fetchable(found)
                except ValueError as exc:
                    raise FetchError(f"jwks_uri {exc}") from None
                self._jwks_url = found
        return self._jwks_url

    async def _get(self, url: str) -> Any:
        """A JSON document, following redirects only within the same origin."""
        target = httpx.URL(url)
        for _ in range(MAX_REDIRECTS + 1):
            request = self._client.build_request(
                "GET", target, headers={"Accept": "application/json"}
            )
            response = await self._client.send(request, stream=True)
            try:
                if response.is_redirect:
                    location = target.join(response.headers.get("location", ""))
                    if _origin(location) != _origin(target):
                        raise FetchError("a redirect to another origin")
                    target = location
                    continue
                if response.status_code != 200:
                    raise FetchError(f"HTTP {response.status_code}", status=response.status_code)
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self._max_bytes:
                        raise FetchError("a document past OIDC_JWKS_MAX_BYTES")
            finally:
                await response.aclose()
            try:
                return orjson.loads(body)
            except orjson.JSONDecodeError:
                raise FetchError("not JSON") from None
        raise FetchError("too many redirects")
