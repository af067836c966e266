"""Settings of what one request may ask for, and how much one caller may ask per minute."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class LimitSettings(BaseSettings):
    """Request and rate limits: what one request may hold, and one caller ask per minute."""

    max_query_depth: int = Field(12, ge=1, le=1000, description="Deepest nesting of fields.")
    max_aliases: int = Field(
        200, ge=0, le=100_000, description="Aliased fields in one document, through fragments."
    )
    max_tokens: int = Field(
        5000, ge=10, le=10_000_000, description="Lexical tokens in one document."
    )
    max_document_nodes: int = Field(
        10_000,
        ge=100,
        le=10_000_000,
        description="Work of analysing one document: its fields and fragment spreads with "
        "fragments expanded, plus each pair of fields answering the same key in one place "
        "(QUERY_TOO_COSTLY above).",
    )
    max_body_bytes: int = Field(
        100 * 1024, ge=1024, le=2**30, description="Largest POST body (HTTP 413 above)."
    )
    max_list_length: int = Field(
        500, ge=1, le=1_000_000, description="Items in one list argument, e.g. `slugs`."
    )
    max_mutations: int = Field(
        10,
        ge=1,
        le=10_000,
        description="Mutation fields (e.g. aliased `publishJob`) in one request.",
    )
    introspection: bool = Field(
        True, description="`false` refuses `__schema` / `__type`; GraphiQL needs it on."
    )
    rate_limits: bool = Field(
        True,
        description="Budgets of lookups per minute (sliding window) per API key and per client "
        "IP; `false` turns them off (the benchmarks run so).",
    )
    rate_limit_anonymous: int = Field(
        3000,
        ge=1,
        le=10**9,
        description="Lookups per minute of one client IP without a valid key (each root field "
        "and each slug of a list counts one).",
    )
    rate_limit_per_key: int = Field(
        60_000,
        ge=1,
        le=10**9,
        description="Lookups per minute of one API key, unless the key has its own "
        "(`create-api-key --rate`).",
    )
    rate_limit_per_customer: int = Field(
        6000,
        ge=1,
        le=10**9,
        description="Lookups per minute of one signed-in customer (counted by a hash of the "
        "token's issuer and subject, whatever address they call from).",
    )
    rate_limit_auth_failures: int = Field(
        60,
        ge=1,
        le=10**9,
        description="Unknown or revoked keys one client IP may present per minute; past it, 429 "
        "without the key being looked up.",
    )
    rate_limit_sync_seconds: float = Field(
        0.1,
        gt=0,
        le=60,
        description="How long a process counts on its own from one reading of the shared "
        "counters (far from a budget's end, up to a tenth of what was left) before it writes "
        "what it counted and reads them again: longer means fewer Redis round trips, and "
        "processes that see each other's counting later.",
    )
    rate_limit_prefix: str = Field(
        "jobwizard:rl", description="Redis key prefix of the rate-limit counters."
    )
