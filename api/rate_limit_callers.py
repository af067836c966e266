"""Which budget a request is counted against (api/rate_limits.py keeps the budgets): its
key's when it presents a valid one, its customer's for a valid token, else its client IP's;
and the gate in front of a presented token's lookup, against floods of unknown tokens."""

from __future__ import annotations

import functools
import hashlib
from uuid import UUID

from limits import RateLimitItem
from starlette.requests import Request

from api.rate_limits import Decision, RateLimits
from context import Context
from context.auth import RequestAuth
from domain.api_keys import ApiKey
from domain.customers import Customer
from domain.errors import DomainError


def client_address(request: Request) -> str:
    """The client IP the anonymous and bad-token budgets are kept under."""
    return request.client.host if request.client is not None else "unknown"


async def screen_token(limits: RateLimits, client: str, auth: RequestAuth) -> Decision | None:
    """The gate in front of a presented token's lookup, for every endpoint that takes keys: a
    refusing Decision when `client` has used up its budget of unknown tokens; otherwise the
    token is looked up (once per request: `auth` answers from then on without a query), and
    counted against that budget when it is not a key. None: go on."""
    # A key the process's key cache knows as valid costs no query and skips the gate (so junk
    # tokens from an address do not lock out a real key behind it); a revocation drops it from
    # that cache in every process.
    if not auth.presented or auth.remembered() is not None:
        return None
    # A customer's token costs no query to check, so junk tokens cannot reach the database.
    if auth.bearer_is_token:
        return None
    # A key verified before (its verdict expired) goes through the gate too, or junk from its
    # address would lock it out.
    if not auth.vouched():
        gate = await limits.auth_allowed(client)
        if not gate.allowed:
            return gate
    try:
        caller = await auth.caller()
    except DomainError:
        return None  # keys cannot be checked now; whatever needs one will say so
    if caller is None:
        await limits.auth_failed(client)
    return None


Budget = tuple[RateLimitItem, str, str]  # its size, the name it is kept under, its policy


def budget_here(limits: RateLimits, request: Request, context: Context) -> Budget | None:
    """The budget of the common callers, known in this process without a wait: a key it knows
    as valid, or a caller with no bearer at all. None: ask `check_rate_limit`."""
    auth = context.auth
    if not auth.presented:
        return limits.anonymous, _ip_identity(client_address(request)), "anonymous"
    known = auth.remembered()
    if known is None:
        return None
    item, identity = _key_budget(limits, known)
    return item, identity, "key"


async def check_rate_limit(
    limits: RateLimits, request: Request, context: Context, cost: int
) -> Decision:
    """Count this request against its caller's budget: its key's when it presents a valid
    one, its customer's for a valid token, else its client IP's."""
    auth = context.auth
    known = auth.remembered() if auth.presented else None
    if known is not None:  # a key this process knows as valid: the common case, no gate
        return await limits.hit(*_key_budget(limits, known), cost, "key")
    client = client_address(request)
    refused = await screen_token(limits, client, auth)
    if refused is not None:
        return refused
    if auth.bearer_is_token:
        try:
            customer = await auth.customer()
        except DomainError:
            customer = None  # cannot be checked now; whatever needs the customer will say so
        if customer is not None:
            identity = customer_identity(customer)
            return await limits.hit(limits.per_customer, identity, cost, "customer")
    caller = auth.remembered() if auth.presented else None
    if caller is not None:
        return await limits.hit(*_key_budget(limits, caller), cost, "key")
    return await limits.hit(limits.anonymous, _ip_identity(client), cost, "anonymous")


def _key_budget(limits: RateLimits, key: ApiKey) -> tuple[RateLimitItem, str]:
    """A key's budget: its size, and the name it is kept under."""
    return limits.for_key(key.rate_per_minute), _key_identity(key.id.int)


def _ip_identity(client: str) -> str:
    """The name an anonymous caller's budget is kept under."""
    return f"ip:{client}"


@functools.lru_cache(maxsize=4096)
def _key_identity(key_id: int) -> str:
    """The name a key's budget is kept under (`key:` and the key's UUID): the same string for
    every request of the key, without formatting its id each time. Cached by the id's integer,
    which hashes without a call into Python, as a UUID does not."""
    return f"key:{UUID(int=key_id)}"


def customer_identity(customer: Customer) -> str:
    """The name a customer's budget is kept under: a digest of (issuer, subject), so neither
    appears in Redis keys."""
    digest = hashlib.sha256(f"{customer.issuer}\0{customer.subject}".encode()).hexdigest()
    return f"customer:{digest[:32]}"
