"""Settings of kept answers: response cache, HTTP caching, API keys, persisted queries."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings


class CachingSettings(BaseSettings):
    """Kept answers: the response cache, HTTP caching, invalidation, API keys, persisted queries."""

    response_cache: bool = Field(
        True,
        description="Keep whole answers of public catalogue operations (those whose every "
        "field carries a public cache hint), keyed by document, operation, variables and "
        "catalogue version; `false` executes every request.",
    )
    response_cache_max_bytes: int = Field(
        64 * 1024 * 1024,
        ge=0,
        le=2**40,
        description="In-process response cache bound, in bytes of kept answers (plain and "
        "compressed), split between the classes of answers (catalogue, search, the rest) by "
        "the two shares below, the catalogue taking what they leave; least recently used out "
        "first within a class, so one class never pushes out another's answers.",
    )
    response_cache_search_share: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Share of `RESPONSE_CACHE_MAX_BYTES` kept for `searchServices` answers "
        "(any new text is a new answer: the class that would otherwise fill the cache).",
    )
    response_cache_other_share: float = Field(
        0.125,
        ge=0.0,
        le=1.0,
        description="Share of `RESPONSE_CACHE_MAX_BYTES` kept for cacheable answers that are "
        "neither catalogue (`categories`, `wizardQuestions`) nor search.",
    )
    response_cache_memo_max_bytes: int = Field(
        8 * 1024 * 1024,
        ge=64 * 1024,
        le=2**40,
        description="Bound in bytes of what the response cache remembers about requests (each "
        "document's verdict, and where a repeated request's answer is kept), half each; least "
        "recently used verdicts out first.",
    )
    response_cache_redis_ttl_seconds: int = Field(
        3600,
        ge=1,
        le=30 * 24 * 3600,
        description="How long an answer stays in Redis (with `REDIS_URL`); an old catalogue "
        "version's answers are never read again and expire.",
    )
    response_cache_namespace: str = Field(
        "jobwizard:rc", description="Key prefix of cached answers in Redis."
    )
    stale_while_revalidate_seconds: int = Field(
        60,
        ge=0,
        le=7 * 24 * 3600,
        description="`stale-while-revalidate` of cacheable GET answers.",
    )
    compress_min_bytes: int = Field(
        1024,
        ge=0,
        le=2**30,
        description="Answers larger than this are compressed when the client accepts it "
        "(zstd, br, gzip).",
    )
    invalidation_listener: bool = Field(
        True,
        description="LISTEN for catalogue changes and API-key revocations on a connection of "
        "its own; `false` (or the connection lost) bypasses the caches only notices keep "
        "fresh.",
    )
    api_key_cache_ttl_seconds: float = Field(
        30.0,
        ge=0.0,
        le=3600.0,
        description="How long a verified API key is trusted without a query (dropped at once "
        "on a revocation notice); `0` checks every request in the database.",
    )
    api_key_negative_ttl_seconds: float = Field(
        10.0,
        ge=0.0,
        le=3600.0,
        description="How long an unknown key hash is remembered as unknown.",
    )
    api_key_cache_max_entries: int = Field(
        10_000,
        ge=1,
        le=10**7,
        description="Bound of each API-key cache (verified keys, unknown hashes).",
    )
    persisted_query_ttl: int = Field(
        7 * 24 * 3600,
        ge=0,
        le=10 * 365 * 24 * 3600,
        description="Seconds a persisted query is kept (`0`: until evicted).",
    )
    persisted_query_prefix: str = Field(
        "jobwizard:apq:", description="Redis key prefix of persisted queries."
    )
    persisted_query_max_entries: int = Field(
        10_000, ge=1, le=10**7, description="Bound of the in-process persisted-query store."
    )
    persisted_query_max_bytes: int = Field(
        32 * 1024 * 1024,
        ge=1024,
        le=2**40,
        description="Bound in bytes of the in-process persisted-query store (document text).",
    )

    @model_validator(mode="after")
    def _cache_shares(self) -> Self:
        if self.response_cache_search_share + self.response_cache_other_share > 1.0:
            raise ValueError(
                "'RESPONSE_CACHE_SEARCH_SHARE' and 'RESPONSE_CACHE_OTHER_SHARE' must not add "
                "up to more than 1"
            )
        return self
