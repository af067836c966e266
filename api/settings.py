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
    workers: int = 1
    database_read_url: str | None = None

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
            workers=reader.integer("WORKERS", os.cpu_count() or 1, low=1, high=256),
            database_read_url=reader.text("DATABASE_READ_URL", None),
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

    def number(self, key: str, default: float, *, low: float) -> float:
        raw = self.text(key, None)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"Config '{key}' must be a number, got {raw!r}.") from None
        if value < low:
            raise ConfigError(f"Config '{key}' must be at least {low}, got {value}.")
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
