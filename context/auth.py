"""Who is calling: an API key or a signed-in customer, from `Authorization: Bearer <token>`.

A bearer with the shape of one of our keys (`jw_...`) is an API key; any other bearer shaped
like a JWT is a customer's access token, verified by the process's `TokenVerifier`
(context/tokens.py) without touching the database. The two never collide: a key is never
decoded as a token, nor a token hashed and looked up as a key.

A key is resolved lazily (public queries never touch the api_keys table), once per request,
through the process's `KeyCache` (context/key_cache.py): a key seen recently costs no query, and
a revoked key still fails on the very next request in every worker, since the revocation notice
drops it from every process's cache before anything else.
"""

from __future__ import annotations

import asyncio
import functools

import asyncpg
from starlette.datastructures import Headers

from context.headers import header
from context.key_cache import KeyCache
from context.tokens import TokenVerifier, looks_like_jwt
from db.api_keys import find_live_key
from db.errors import is_transient
from db.pool import connection_within
from domain.api_keys import (
    ApiKey,
    hash_key,
    looks_like_key,
    matches,
    require_caller,
    require_scope,
)
from domain.customers import Customer
from domain.errors import ServiceUnavailableError, UnauthenticatedError

_MAX_KEY_LENGTH = 256  # longer is not one of ours; do not even hash it
# One message for every refused token: which check failed would only help an attacker.
INVALID_TOKEN = "The access token is not valid (expired, or not issued for this API)."
NO_CUSTOMER = "This needs a signed-in customer: send 'Authorization: Bearer <access token>'."
KEY_NOT_TOKEN = "This needs an API key: a customer's access token does not give access to it."


def bearer_token(headers: Headers) -> str | None:
    """The token of an `Authorization: Bearer ...` header, or None."""
    value = header(headers, b"authorization") or ""
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


@functools.lru_cache(maxsize=4096)
def _key_hash(token: str) -> str | None:
    """The hash of a token shaped as one of our keys, None for any other token: remembered for
    the latest tokens, as a client presents the same key on every request. A hash vouches for
    nothing by itself: it is what the key cache and the database know a key by."""
    return hash_key(token) if looks_like_key(token) else None


class RequestAuth:
    def __init__(
        self,
        pool: asyncpg.Pool,
        token: str | None,
        keys: KeyCache | None = None,
        *,
        timeout: float | None = None,
        tokens: TokenVerifier | None = None,
    ) -> None:
        """`timeout`: seconds the key check may wait on the database (acquire included);
        `tokens`: the verifier of customers' tokens (None: no issuer, no customer)."""
        self._pool = pool
        self._timeout = timeout
        self._token = token
        self._keys = keys
        self._tokens = tokens
        self._key_sha256: str | None = None
        # A key the process's cache vouched for, kept for the rest of the request: the rate
        # limit and the fields ask again, and each asking costs a cache read.
        self._remembered: ApiKey | None = None
        self._lookup_task: asyncio.Future[ApiKey | None] | None = None
        self._customer_task: asyncio.Future[Customer | None] | None = None

    @property
    def presented(self) -> bool:
        """A bearer was sent (a key or a token, valid or not)."""
        return self._token is not None

    @property
    def bearer_is_token(self) -> bool:
        """The bearer is shaped as a customer's token (a JWT), not as one of our keys."""
        token = self._token
        return token is not None and not looks_like_key(token) and looks_like_jwt(token)

    async def customer(self) -> Customer | None:
        """The verified customer of a `Bearer <JWT>`, or None (no token, an API key, or a
        token that is not accepted). ServiceUnavailableError when the token cannot be checked
        now (no signing key held and the issuer unreachable)."""
        if self._customer_task is None:
            known = self.remembered_customer()
            if known is not None:  # the common case: no task to schedule
                self._customer_task = asyncio.get_running_loop().create_future()
                self._customer_task.set_result(known)
            else:
                self._customer_task = asyncio.ensure_future(self._verify())
        return await self._customer_task

    async def require_customer(self) -> Customer:
        """The customer; UNAUTHENTICATED without a valid token."""
        customer = await self.customer()
        if customer is None:
            token = self._token
            refused = token is not None and not looks_like_key(token)
            raise UnauthenticatedError(INVALID_TOKEN if refused else NO_CUSTOMER)
        return customer

    async def principal(self) -> ApiKey | Customer | None:
        """Whichever the bearer is: a valid API key, a verified customer, or None."""
        if self.bearer_is_token:
            return await self.customer()
        return await self.caller()

    def remembered_customer(self) -> Customer | None:
        """The customer when known without verifying: this request already did, or the
        verifier remembers the token as valid."""
        task = self._customer_task
        if task is not None and task.done() and not task.cancelled() and not task.exception():
            return task.result()
        if self._tokens is None or not self.bearer_is_token:
            return None
        assert self._token is not None
        return self._tokens.remembered(self._token)

    async def _verify(self) -> Customer | None:
        if self._tokens is None or not self.bearer_is_token:
            return None
        assert self._token is not None
        return await self._tokens.verify(self._token)

    async def caller(self) -> ApiKey | None:
        """The valid key of this request, or None (no key, unknown or revoked)."""
        # One lookup shared by every field of the request: sibling resolvers that ask at once
        # wait for the same query, and resume together (so their DataLoader loads still batch).
        if self._lookup_task is None:
            self._lookup_task = asyncio.ensure_future(self._lookup())
        return await self._lookup_task

    async def require_key(self) -> ApiKey:
        """The caller; UNAUTHENTICATED without a valid key."""
        if self.bearer_is_token:
            raise UnauthenticatedError(KEY_NOT_TOKEN)
        return require_caller(await self.caller(), presented=self.presented)

    async def require(self, scope: str) -> ApiKey:
        """The caller, when it holds `scope`; UNAUTHENTICATED / FORBIDDEN otherwise."""
        if self.bearer_is_token:
            raise UnauthenticatedError(KEY_NOT_TOKEN)
        return require_scope(await self.caller(), scope, presented=self.presented)

    def remembered(self) -> ApiKey | None:
        """The caller when it is known without a query: this request already looked it up, or
        the process's key cache holds it as valid. None otherwise (not known to be valid)."""
        if self._remembered is not None:
            return self._remembered
        task = self._lookup_task
        if task is not None and task.done() and not task.cancelled() and not task.exception():
            return task.result()
        key_sha256 = self._hash()
        if key_sha256 is None or self._keys is None:
            return None
        cached = self._keys.get(key_sha256)
        if isinstance(cached, ApiKey):
            self._remembered = cached
            return cached
        return None

    @property
    def key_sha256(self) -> str | None:
        """The hash of the presented API key (None for no bearer or a customer's token)."""
        return self._hash()

    async def check_again(self) -> ApiKey | None:
        """The key verified anew (its cached verdict may have been dropped since): for a
        caller that outlives a request, such as a WebSocket."""
        self._lookup_task = None
        self._remembered = None
        return await self.caller()

    def vouched(self) -> bool:
        """Whether the presented token was verified as a key before in this process (its
        verdict may have expired): not a verdict, a reason to spend a query checking it."""
        key_sha256 = self._hash()
        return key_sha256 is not None and self._keys is not None and self._keys.vouched(key_sha256)

    def _hash(self) -> str | None:
        """The presented token's hash, once it has the shape of one of our keys."""
        token = self._token
        if token is None or len(token) > _MAX_KEY_LENGTH:
            return None
        if self._key_sha256 is None:
            self._key_sha256 = _key_hash(token)
        return self._key_sha256

    async def _lookup(self) -> ApiKey | None:
        token, key_sha256 = self._token, self._hash()
        if token is None or key_sha256 is None:
            return None
        keys, generation = self._keys, 0
        if keys is not None:
            cached = keys.get(key_sha256)
            if cached is not None:  # False: remembered as unknown
                return cached if isinstance(cached, ApiKey) else None
            generation = keys.generation
        key = await self._fetch(token, key_sha256)
        if keys is not None:
            keys.put(key_sha256, key, generation)
        return key

    async def _fetch(self, token: str, key_sha256: str) -> ApiKey | None:
        try:
            if self._timeout is None:
                found = await find_live_key(self._pool, key_sha256=key_sha256)
            else:
                async with connection_within(self._pool, self._timeout, "API key check") as conn:
                    found = await find_live_key(conn, key_sha256=key_sha256)
        except Exception as exc:
            if is_transient(exc):  # the database is down: "retry", not "your key is wrong"
                raise ServiceUnavailableError("API keys cannot be checked right now.") from exc
            raise
        # The index lookup found the row by hash; comparing again in constant time means no
        # code path decides on a key by a short-circuiting string comparison.
        if found is None or not matches(token, found.key_sha256):
            return None
        return ApiKey(
            id=found.id,
            name=found.name,
            scopes=frozenset(found.scopes),
            rate_per_minute=found.rate_per_minute,
        )
