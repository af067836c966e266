"""Settings of micro-service lookups: cache levels, Redis, the breaker, retries, compiled plans."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings
from redis.connection import parse_url


class LookupSettings(BaseSettings):
    """Micro-service lookups: the cache levels and Redis, the breaker, retries, compiled plans."""

    redis_url: str | None = Field(
        None,
        description="`redis://[:pw@]host[:port][/db]`: a Redis cache level shared by every "
        "worker and host (also holds persisted queries).",
    )
    cache_ttl_seconds: float = Field(
        1800.0, ge=0.001, description="How long a found micro service stays cached."
    )
    cache_max_entries: int = Field(
        10_000, ge=1, le=10**8, description="In-process lookup cache bound (LRU)."
    )
    cache_max_bytes: int = Field(
        64 * 1024 * 1024,
        ge=64 * 1024,
        le=2**40,
        description="In-process lookup cache bound in bytes (estimated: key and row text).",
    )
    cache_negative_max_entries: int = Field(
        10_000,
        ge=1,
        le=10**8,
        description="Unknown slugs remembered in-process, in a level of their own that never "
        "evicts a found micro service.",
    )
    cache_negative_max_bytes: int = Field(
        4 * 1024 * 1024,
        ge=64 * 1024,
        le=2**40,
        description="Bound in bytes of the unknown-slug level.",
    )
    cache_negative_ttl_seconds: float = Field(
        60.0, ge=0.001, description="How long an unknown slug is remembered as unknown."
    )
    cache_namespace: str = Field("jobwizard:ms", description="Key prefix of lookups in Redis.")
    cache_redis_timeout_ms: int = Field(
        100,
        ge=1,
        le=60_000,
        description="Timeout of every Redis operation (caches, persisted queries, rate limits); "
        "after a failure Redis is skipped for a while.",
    )
    cache_warm_up: bool = Field(
        True, description="Load every active micro service into the cache at start."
    )
    breaker_fail_max: int = Field(
        5, ge=1, le=10_000, description="Consecutive infrastructure failures that open the breaker."
    )
    breaker_reset_seconds: float = Field(
        30.0, ge=0.001, description="How long the breaker stays open before one trial call."
    )
    retry_attempts: int = Field(
        3, ge=1, le=100, description="Attempts per lookup (transient errors only)."
    )
    retry_budget_ms: int = Field(
        250, ge=0, le=600_000, description="No retry starts later than this after the first try."
    )
    lookup_statement_timeout_ms: int = Field(
        1000,
        ge=1,
        le=600_000,
        description="Deadline of one lookup attempt (pool acquire, connect and statement).",
    )
    job_uuids: bool = Field(
        True,
        description="`false` is the rollback to slug-only: new jobs are stored without a UUID "
        "and without a lookup (backfill later).",
    )
    compiled_lookups: bool = Field(
        True,
        description="Answer plain `microService(slug:)` / `microServices(slugs:)` documents "
        "with compiled plans; `false` sends every document through graphql-core.",
    )
    compiled_publish: bool = Field(
        True,
        description="Answer a plain `publishJob(input:)` document (the payload's fields, "
        "`job { location photos microService }` included, no directives or fragments; its "
        "input as variables or literals) with a compiled plan; `false` sends it through "
        "graphql-core.",
    )
    compiled_search: bool = Field(
        True,
        description="Answer a plain `searchServices(text:, first:)` document (plain fields of the "
        "match and its micro service) with a compiled plan; `false` sends it through "
        "graphql-core.",
    )

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith("redis://"):
            raise ValueError(f"must start with redis://, got {value!r}")
        redis_address(value)  # redis-py's own parser: what it cannot read, it cannot connect to
        return value


def redis_address(url: str) -> dict[str, Any]:
    """host, port, db, password... of a Redis URL, as redis-py itself reads it."""
    address: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
    return address
