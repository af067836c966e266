"""Settings, declared once: each one's type, bounds, default and meaning live in `Settings`.

Read from the environment (upper-case names: `PORT`, `REDIS_URL`, ...) by pydantic-settings;
`docs/settings.md` is generated from this class (`python -m config.reference`), and a test
keeps it in step. A bad value stops the process with a message that names the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from redis.connection import parse_url

ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        frozen=True, env_ignore_empty=True, case_sensitive=False, extra="ignore"
    )

    # --- serving ---
    database_url: str | None = Field(
        None, description="PostgreSQL to use; unset starts an embedded PostgreSQL in `.pgdata/`."
    )
    host: str = Field("127.0.0.1", description="Interface to bind.")
    port: int = Field(8000, ge=1, le=65535, description="Port to bind.")
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        le=256,
        description="uvicorn worker processes sharing the port (default: the number of cores); "
        "migrations and seed run once in the parent.",
    )
    connection_idle_timeout_seconds: float = Field(
        5.0,
        ge=0.1,
        le=3600.0,
        description="A connection that sends nothing (before its first request, or between "
        "two) is closed after this long.",
    )
    header_timeout_seconds: float = Field(
        10.0,
        ge=0.1,
        le=3600.0,
        description="Request headers must be complete this long after their first byte.",
    )
    body_timeout_seconds: float = Field(
        30.0,
        ge=0.1,
        le=3600.0,
        description="A request body must be complete this long after its headers.",
    )
    max_header_bytes: int = Field(
        16 * 1024,
        ge=1024,
        le=1024 * 1024,
        description="Largest request line and headers (HTTP 431 above).",
    )
    max_connections: int = Field(
        1000,
        ge=1,
        le=1_000_000,
        description="Concurrent connections (and requests) per worker; past it, new requests "
        "get 503.",
    )
    ws_max_connections: int = Field(
        250,
        ge=1,
        le=1_000_000,
        description="Concurrent WebSockets per worker (at most half of MAX_CONNECTIONS, which "
        "counts them too, so that sockets cannot take every connection from HTTP); past it "
        "the handshake gets 503.",
    )
    ws_max_message_bytes: int = Field(
        64 * 1024,
        ge=1024,
        le=16 * 1024 * 1024,
        description="Largest WebSocket message, its fragments together; a larger one closes the "
        "socket (code 1009) before more than this is buffered.",
    )
    ws_connection_init_timeout_seconds: float = Field(
        5.0,
        ge=0.1,
        le=3600.0,
        description="A WebSocket must send `connection_init` this long after it opens (close "
        "code 4408 otherwise).",
    )
    ws_idle_timeout_seconds: float = Field(
        30.0,
        ge=0.1,
        le=86400.0,
        description="A WebSocket with no subscription (or other operation) running is closed "
        "(code 1000) after this long.",
    )
    migrate_on_start: bool = Field(True, description="Apply pending migrations at start.")
    seed_on_start: bool = Field(
        True, description="Upsert the catalogue file into the database at start."
    )
    log_level: str = Field("INFO", description="Python log level.")
    log_repeat_interval_seconds: float = Field(
        60.0,
        ge=0.0,
        le=86_400.0,
        description="Identical warnings are logged once per interval, with a count of the "
        "others (`0` logs every one).",
    )
    graphiql: bool = Field(
        True, description="Serve the self-hosted GraphiQL to browsers at `GET /graphql`."
    )
    embedded_pgdata: Path = Field(
        ROOT / ".pgdata", description="Data folder of the embedded PostgreSQL."
    )
    catalogue_path: Path = Field(
        ROOT / "db" / "catalogue.json", description="The catalogue file (validated at start)."
    )
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="Comma-separated origins allowed to call the API from browsers."
    )
    # --- database ---
    db_pool_min: int = Field(2, ge=0, le=1000, description="asyncpg pool: fewest connections.")
    db_pool_max: int = Field(10, ge=1, le=1000, description="asyncpg pool: most connections.")
    db_command_timeout: float = Field(
        10.0, ge=0.1, description="Seconds before any statement is abandoned."
    )
    database_read_url: str | None = Field(
        None,
        description="A read replica for catalogue lookups and listings; jobs always go to "
        "`DATABASE_URL`.",
    )
    # --- lookups: cache, breaker, retries ---
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
        description="Per-operation Redis timeout; after a failure Redis is skipped for a while.",
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
        description="Answer the plain `publishJob(input: $input)` document (the payload's "
        "scalar fields) with a compiled plan; `false` sends it through graphql-core.",
    )
    compiled_search: bool = Field(
        True,
        description="Answer a plain `searchServices(text:, first:)` document (the match's "
        "scalar fields and its micro service's) with a compiled plan; `false` sends it "
        "through graphql-core.",
    )
    # --- response cache, HTTP caching, invalidation ---
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
        "compressed); least recently used out first.",
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
    # --- request limits ---
    max_query_depth: int = Field(12, ge=1, le=1000, description="Deepest nesting of fields.")
    max_aliases: int = Field(
        200, ge=0, le=100_000, description="Aliased fields in one document, through fragments."
    )
    max_tokens: int = Field(
        5000, ge=10, le=10_000_000, description="Lexical tokens in one document."
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
    # --- rate limits ---
    rate_limits: bool = Field(
        True,
        description="Budgets of lookups per minute (moving window) per API key and per client "
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
    rate_limit_auth_failures: int = Field(
        60,
        ge=1,
        le=10**9,
        description="Unknown or revoked keys one client IP may present per minute; past it, 429 "
        "without the key being looked up.",
    )
    rate_limit_prefix: str = Field(
        "jobwizard:rl", description="Redis key prefix of the rate-limit counters."
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="Proxies trusted to set `X-Forwarded-For` (uvicorn's setting): the client "
        "IP that anonymous rate limits count by. Comma-separated IPs or networks, `*` for all.",
    )
    # --- persisted queries ---
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
    # --- lookup monitoring ---
    lookup_events: bool = Field(
        True, description="Record every slug lookup into `analytics_events`."
    )
    event_buffer_size: int = Field(
        10_000,
        ge=1,
        le=10_000_000,
        description="Events held in memory at most; past it the oldest are dropped and counted.",
    )
    event_flush_interval: float = Field(
        1.0, ge=0.01, description="Seconds between writes of whatever is buffered."
    )
    event_flush_batch: int = Field(
        500, ge=1, le=100_000, description="Events per write (one `COPY`)."
    )
    event_retention_days: int = Field(
        7,
        ge=1,
        le=3660,
        description="Days raw events are kept in `analytics_events` (dropped a day partition "
        "at a time).",
    )
    rollup_retention_days: int = Field(
        400,
        ge=1,
        le=36_600,
        description="Days the per-minute and per-hour lookup rollups are kept.",
    )
    event_upkeep_interval: float = Field(
        60.0,
        ge=1.0,
        le=86_400.0,
        description="Seconds between the event writer's upkeep runs: day partitions created "
        "ahead, expired ones dropped, recent rollups folded.",
    )
    live_interval_seconds: float = Field(
        5.0,
        ge=0.05,
        le=3600.0,
        description="Seconds between live updates: stats pushed to `lookupStatsUpdated` "
        "subscribers, alerts evaluated, stored in their history and pushed on change.",
    )
    monitoring_max_cost: int = Field(
        20_160,
        ge=1,
        le=10**9,
        description="Budget of one request's monitoring fields, in window-minutes summed over "
        "every field and alias (`QUERY_TOO_COSTLY` above).",
    )
    monitoring_pool_max: int = Field(
        2,
        ge=1,
        le=100,
        description="Connections of the monitoring fields' own pool: however they are asked "
        "for, they never take more than this from PostgreSQL.",
    )
    monitoring_statement_timeout_ms: int = Field(
        5000,
        ge=100,
        le=600_000,
        description="PostgreSQL `statement_timeout` of the monitoring pool's connections.",
    )
    alert_window_minutes: int = Field(
        5, ge=1, le=10_080, description="The window the `alerts` query evaluates."
    )
    alert_slow_lookup_ms: float = Field(
        100.0, ge=0.0, description="`slow_lookups` fires when the average lookup is slower."
    )
    alert_min_success_rate: float = Field(
        0.9, ge=0.0, le=1.0, description="`low_success_rate` fires below this success rate."
    )
    alert_max_fallback_rate: float = Field(
        0.2, ge=0.0, le=1.0, description="`high_fallback_rate` fires above this fallback rate."
    )
    # --- photo uploads ---
    upload_max_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1024,
        le=2**30,
        description="Largest photo `POST /uploads` takes (HTTP 413 above).",
    )
    upload_quota_uploads: int = Field(
        200, ge=1, le=10**9, description="Uploads one API key may make per hour."
    )
    upload_quota_bytes: int = Field(
        500 * 1024 * 1024,
        ge=1024,
        le=2**50,
        description="Bytes one API key may upload per hour (as received, before re-encoding).",
    )
    upload_processing: int = Field(
        2,
        ge=1,
        le=256,
        description="Images decoded at once per process; further uploads wait their turn.",
    )
    upload_purge: bool = Field(
        False,
        description="Delete uploads left unattached for 24 h from within the server, "
        "every `UPLOAD_PURGE_INTERVAL` seconds (else: `python server.py purge-uploads`).",
    )
    upload_purge_interval: float = Field(
        3600.0, ge=1.0, le=7 * 24 * 3600, description="Seconds between two periodic purges."
    )
    media_url_ttl: int = Field(
        3600,
        ge=60,
        le=7 * 24 * 3600,
        description="Seconds a signed photo URL (`Job.photos.url`) stays valid, at least.",
    )

    # --- service search and suggestions ---
    search_semantic: bool = Field(
        True,
        description="Rank `searchServices` with the in-process sentence-embedding model as well "
        "as keywords; off: keywords only (no model loaded).",
    )
    search_cache_dir: Path = Field(
        ROOT / ".cache" / "search",
        description="Where the services' embedding vectors are cached, keyed by the model and "
        "the catalogue text (recomputed in the background when either changes).",
    )
    search_inference_threads: int = Field(
        1,
        ge=1,
        le=64,
        description="Embedding inferences run at once per process (each holds one core; the "
        "event loop needs one too, and every worker process has its own).",
    )
    search_model_budget_ms: float = Field(
        12.0,
        ge=0.0,
        le=10_000.0,
        description="The longest a search waits for the embedding model before it answers "
        "from keywords alone (its text then leaves the model's queue); 0: no limit.",
    )
    search_query_cache_size: int = Field(
        4096,
        ge=0,
        le=1_000_000,
        description="Query texts whose embedding vectors are kept (about 1.6 KB each): a text "
        "searched again skips the model. 0 keeps none (every search the keywords do not "
        "settle runs the model, as the search benchmark's cold figures measure).",
    )
    suggestions_refresh_seconds: float = Field(
        900.0,
        ge=0.0,
        description="Seconds between refreshes of the related and popular services rollups "
        "(0: only `python server.py refresh-suggestions`).",
    )
    suggestions_window_days: int = Field(
        180, ge=1, le=3650, description="Two jobs of one customer at most this far apart pair."
    )
    suggestions_lookback_days: int = Field(
        365, ge=1, le=3650, description="Jobs older than this are left out of related services."
    )
    suggestions_min_support: int = Field(
        3, ge=1, le=1_000_000, description="Customers a pair of services needs to be suggested."
    )

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(origin.strip() for origin in value.split(",") if origin.strip())
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith("redis://"):
            raise ValueError(f"must start with redis://, got {value!r}")
        redis_address(value)  # redis-py's own parser: what it cannot read, it cannot connect to
        return value

    @property
    def ws_connection_cap(self) -> int:
        """WS_MAX_CONNECTIONS, held to half of MAX_CONNECTIONS."""
        return min(self.ws_max_connections, max(1, self.max_connections // 2))

    @model_validator(mode="after")
    def _pool_bounds(self) -> Settings:
        if self.db_pool_min > self.db_pool_max:
            raise ValueError("'DB_POOL_MIN' must not be greater than 'DB_POOL_MAX'")
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from `env` (the process environment when None); `ConfigError` naming the
        variable when a value is malformed or out of bounds."""
        try:
            if env is None:
                return cls()
            known = {name.upper() for name in cls.model_fields}
            given = {k.lower(): v.strip() for k, v in env.items() if k.upper() in known}
            return cls.model_validate({k: v for k, v in given.items() if v})
        except ValidationError as exc:
            raise ConfigError(_message(cls, exc)) from None

    def replace(self, **changes: Any) -> Settings:
        """A copy with `changes` applied and validated like values from the environment."""
        return type(self).model_validate({**self.model_dump(), **changes})


def redis_address(url: str) -> dict[str, Any]:
    """host, port, db, password... of a Redis URL, as redis-py itself reads it."""
    address: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
    return address


def _message(cls: type[Settings], exc: ValidationError) -> str:
    """The first error, in words that name the environment variable."""
    error = exc.errors()[0]
    location = error["loc"]
    if not location:
        return f"Config {str(error['msg']).removeprefix('Value error, ')}."
    name = str(location[0]).upper()
    given = error.get("input")
    field = cls.model_fields.get(str(location[0]))
    bounds = {
        type(m).__name__: getattr(m, attr)
        for m in (field.metadata if field else [])
        for attr in ("ge", "le")
        if hasattr(m, attr)
    }
    kind = error["type"]
    if kind in ("greater_than_equal", "less_than_equal"):
        low, high = bounds.get("Ge"), bounds.get("Le")
        if low is not None and high is not None:
            return f"Config '{name}' must be between {low} and {high}, got {given}."
        if low is not None:
            return f"Config '{name}' must be at least {low}, got {given}."
        return f"Config '{name}' must be at most {high}, got {given}."
    words = {
        "int_parsing": "an integer",
        "int_from_float": "an integer",
        "float_parsing": "a number",
        "bool_parsing": "true or false",
    }
    if kind in words:
        return f"Config '{name}' must be {words[kind]}, got {given!r}."
    detail = str(error["msg"]).removeprefix("Value error, ")
    return f"Config '{name}' {detail}."
