"""Settings, read once from the environment into one typed object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None
    host: str
    port: int
    migrate_on_start: bool
    seed_on_start: bool
    db_pool_min: int
    db_pool_max: int
    db_command_timeout: float
    embedded_pgdata: Path
    catalogue_path: Path
    log_level: str
    graphiql: bool
    # --- resilient lookups (issue 3) ---
    redis_url: str | None = None
    cache_ttl_seconds: float = 1800.0
    cache_max_entries: int = 10_000
    cache_negative_ttl_seconds: float = 60.0
    cache_namespace: str = "jobwizard:ms"
    cache_redis_timeout_ms: int = 100
    breaker_fail_max: int = 5
    breaker_reset_seconds: float = 30.0
    retry_attempts: int = 3
    retry_budget_ms: int = 250
    lookup_statement_timeout_ms: int = 1000
    cache_warm_up: bool = True
    # The rollback switch: false stores every new job slug-only, with no lookup at all.
    job_uuids: bool = True
    # Request limits (issue 5): each rejection happens before any resolver runs.
    max_query_depth: int = 12
    max_aliases: int = 200
    max_tokens: int = 5000
    max_body_bytes: int = 100 * 1024
    max_list_length: int = 500  # items in one list argument, e.g. microServices(slugs:)
    introspection: bool = True
    cors_origins: tuple[str, ...] = ()
    persisted_query_ttl: int = 7 * 24 * 3600  # seconds; 0 keeps them until evicted
    persisted_query_prefix: str = "jobwizard:apq:"
    persisted_query_max_entries: int = 10_000  # in-process store only; Redis evicts by policy
    # --- lookup monitoring (issue 4) ---
    lookup_events: bool = True
    event_buffer_size: int = 10_000
    event_flush_interval: float = 1.0
    event_flush_batch: int = 500
    alert_window_minutes: int = 5
    alert_slow_lookup_ms: float = 100.0
    alert_min_success_rate: float = 0.9
    alert_max_fallback_rate: float = 0.2
    # --- throughput and scale-out (issue 6) ---
    workers: int = 1
    database_read_url: str | None = None
    compiled_lookups: bool = True  # api/lookup_plans.py; false sends everything the general way

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        reader = _Reader(env)
        settings = cls(
            database_url=reader.text("DATABASE_URL", None),
            host=reader.text("HOST", "127.0.0.1") or "127.0.0.1",
            port=reader.integer("PORT", 8000, low=1, high=65535),
            migrate_on_start=reader.boolean("MIGRATE_ON_START", True),
            seed_on_start=reader.boolean("SEED_ON_START", True),
            db_pool_min=reader.integer("DB_POOL_MIN", 2, low=0, high=1000),
            db_pool_max=reader.integer("DB_POOL_MAX", 10, low=1, high=1000),
            db_command_timeout=reader.number("DB_COMMAND_TIMEOUT", 10.0, low=0.1),
            embedded_pgdata=Path(reader.text("EMBEDDED_PGDATA", None) or ROOT / ".pgdata"),
            catalogue_path=Path(
                reader.text("CATALOGUE_PATH", None) or ROOT / "db" / "catalogue.json"
            ),
            log_level=(reader.text("LOG_LEVEL", "info") or "info").upper(),
            graphiql=reader.boolean("GRAPHIQL", True),
            redis_url=reader.text("REDIS_URL", None),
            cache_ttl_seconds=reader.number("CACHE_TTL_SECONDS", 1800.0, low=0.001),
            cache_max_entries=reader.integer("CACHE_MAX_ENTRIES", 10_000, low=1, high=10**8),
            cache_negative_ttl_seconds=reader.number("CACHE_NEGATIVE_TTL_SECONDS", 60.0, low=0.001),
            cache_namespace=reader.text("CACHE_NAMESPACE", None) or "jobwizard:ms",
            cache_redis_timeout_ms=reader.integer(
                "CACHE_REDIS_TIMEOUT_MS", 100, low=1, high=60_000
            ),
            breaker_fail_max=reader.integer("BREAKER_FAIL_MAX", 5, low=1, high=10_000),
            breaker_reset_seconds=reader.number("BREAKER_RESET_SECONDS", 30.0, low=0.001),
            retry_attempts=reader.integer("RETRY_ATTEMPTS", 3, low=1, high=100),
            retry_budget_ms=reader.integer("RETRY_BUDGET_MS", 250, low=0, high=600_000),
            lookup_statement_timeout_ms=reader.integer(
                "LOOKUP_STATEMENT_TIMEOUT_MS", 1000, low=1, high=600_000
            ),
            cache_warm_up=reader.boolean("CACHE_WARM_UP", True),
            job_uuids=reader.boolean("JOB_UUIDS", True),
            max_query_depth=reader.integer("MAX_QUERY_DEPTH", 12, low=1, high=1000),
            max_aliases=reader.integer("MAX_ALIASES", 200, low=0, high=100_000),
            max_tokens=reader.integer("MAX_TOKENS", 5000, low=10, high=10_000_000),
            max_body_bytes=reader.integer("MAX_BODY_BYTES", 100 * 1024, low=1024, high=2**30),
            max_list_length=reader.integer("MAX_LIST_LENGTH", 500, low=1, high=1_000_000),
            introspection=reader.boolean("INTROSPECTION", True),
            cors_origins=tuple(
                origin.strip()
                for origin in (reader.text("CORS_ORIGINS", None) or "").split(",")
                if origin.strip()
            ),
            persisted_query_ttl=reader.integer(
                "PERSISTED_QUERY_TTL", 7 * 24 * 3600, low=0, high=10 * 365 * 24 * 3600
            ),
            persisted_query_prefix=reader.text("PERSISTED_QUERY_PREFIX", None) or "jobwizard:apq:",
            persisted_query_max_entries=reader.integer(
                "PERSISTED_QUERY_MAX_ENTRIES", 10_000, low=1, high=10**7
            ),
            lookup_events=reader.boolean("LOOKUP_EVENTS", True),
            event_buffer_size=reader.integer("EVENT_BUFFER_SIZE", 10_000, low=1, high=10_000_000),
            event_flush_interval=reader.number("EVENT_FLUSH_INTERVAL", 1.0, low=0.01),
            event_flush_batch=reader.integer("EVENT_FLUSH_BATCH", 500, low=1, high=100_000),
            alert_window_minutes=reader.integer("ALERT_WINDOW_MINUTES", 5, low=1, high=10_080),
            alert_slow_lookup_ms=reader.number("ALERT_SLOW_LOOKUP_MS", 100.0, low=0.0),
            alert_min_success_rate=reader.number("ALERT_MIN_SUCCESS_RATE", 0.9, low=0.0, high=1.0),
            alert_max_fallback_rate=reader.number(
                "ALERT_MAX_FALLBACK_RATE", 0.2, low=0.0, high=1.0
            ),
            workers=reader.integer("WORKERS", os.cpu_count() or 1, low=1, high=256),
            database_read_url=reader.text("DATABASE_READ_URL", None),
            compiled_lookups=reader.boolean("COMPILED_LOOKUPS", True),
        )
        if settings.redis_url is not None and not settings.redis_url.startswith("redis://"):
            raise ConfigError(
                f"Config 'REDIS_URL' must start with redis://, got {settings.redis_url!r}."
            )
        if settings.db_pool_min > settings.db_pool_max:
            raise ConfigError("Config 'DB_POOL_MIN' must not be greater than 'DB_POOL_MAX'.")
        return settings


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, key: str, default: str | None) -> str | None:
        value = self._env.get(key, "").strip()
        return value or default

    def integer(self, key: str, default: int, *, low: int, high: int) -> int:
        raw = self.text(key, None)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"Config '{key}' must be an integer, got {raw!r}.") from None
        if not low <= value <= high:
            raise ConfigError(f"Config '{key}' must be between {low} and {high}, got {value}.")
        return value

    def number(self, key: str, default: float, *, low: float, high: float | None = None) -> float:
        raw = self.text(key, None)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"Config '{key}' must be a number, got {raw!r}.") from None
        if value < low:
            raise ConfigError(f"Config '{key}' must be at least {low}, got {value}.")
        if high is not None and value > high:
            raise ConfigError(f"Config '{key}' must be at most {high}, got {value}.")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        raw = self.text(key, None)
        if raw is None:
            return default
        lowered = raw.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"Config '{key}' must be true or false, got {raw!r}.")
