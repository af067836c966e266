"""API keys: how they look, how they are hashed, which scopes exist, what a caller may do.

A key is shown to its owner once and never stored: the database holds its SHA-256 only. Keys are
long random tokens, so a plain (unsalted) SHA-256 is enough to make a leaked table useless, and
it lets a key be found by an index lookup on its hash.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from domain.errors import ForbiddenError, UnauthenticatedError

KEY_PREFIX = "jw_"  # makes a leaked key recognisable to secret scanners
JOBS_WRITE = "jobs:write"
JOBS_READ = "jobs:read"
OPS_READ = "ops:read"  # the monitoring fields: lookup stats, timeline, alerts
OPS_WRITE = "ops:write"  # acknowledge and silence alerts
WEBHOOKS_WRITE = "webhooks:write"  # manage the key's webhook endpoints
LEADS_READ = "leads:read"  # webhook endpoints also hear of other keys' jobs their filter matches
SCOPES: frozenset[str] = frozenset(
    {JOBS_WRITE, JOBS_READ, OPS_READ, OPS_WRITE, WEBHOOKS_WRITE, LEADS_READ}
)
MAX_RATE_PER_MINUTE = 10_000_000  # a key's own lookup budget (`create-api-key --rate`)


_KEY_BYTES = 32
# What generate_key() makes: the prefix and 32 random bytes in unpadded URL-safe base64.
_KEY_SHAPE = re.compile(r"jw_[A-Za-z0-9_-]{43}")


def generate_key() -> str:
    """A new random key (256 bits of entropy)."""
    return KEY_PREFIX + secrets.token_urlsafe(_KEY_BYTES)


def looks_like_key(token: str) -> bool:
    """Whether `token` has the shape of a key we issue: anything else is refused without a
    database lookup (a flood of made-up tokens costs no query)."""
    return _KEY_SHAPE.fullmatch(token) is not None


def hash_key(key: str) -> str:
    """The hex SHA-256 under which a key is stored and looked up."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def matches(key: str, stored_sha256: str) -> bool:
    """Constant-time check of `key` against a stored hash."""
    return hmac.compare_digest(hash_key(key).encode(), stored_sha256.encode())


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """`scopes`, de-duplicated and sorted; raise ValueError naming an unknown one."""
    unique = sorted(set(scopes))
    unknown = [s for s in unique if s not in SCOPES]
    if unknown:
        raise ValueError(
            f"Unknown scope {unknown[0]!r}; known scopes: {', '.join(sorted(SCOPES))}."
        )
    return tuple(unique)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A valid (not revoked) key, as the request that presented it sees it."""

    id: UUID
    name: str
    scopes: frozenset[str]
    rate_per_minute: int | None = None  # its own lookup budget; None: the server's default

    def has(self, scope: str) -> bool:
        return scope in self.scopes


def require_caller(caller: ApiKey | None, *, presented: bool) -> ApiKey:
    """`caller`, or UNAUTHENTICATED; `presented` tells a missing key from an invalid one."""
    if caller is None:
        raise UnauthenticatedError(
            "The API key is not valid (unknown or revoked)."
            if presented
            else "This needs an API key: send 'Authorization: Bearer <key>'."
        )
    return caller


def require_scope(caller: ApiKey | None, scope: str, *, presented: bool) -> ApiKey:
    """`caller` when it holds `scope`; UNAUTHENTICATED without a valid key, FORBIDDEN without
    the scope."""
    key = require_caller(caller, presented=presented)
    if not key.has(scope):
        raise ForbiddenError(f"This API key lacks the scope '{scope}'.")
    return key


def may_read_job(caller: ApiKey, job_api_key_id: UUID | None) -> bool:
    """A job is readable by the key that published it, or by any key with jobs:read."""
    return caller.has(JOBS_READ) or (job_api_key_id is not None and job_api_key_id == caller.id)
