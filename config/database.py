"""Settings of PostgreSQL: which server, the pool, migrations and the catalogue seed."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings

from config.paths import ROOT

# The catalogue kept in the repository, beside the seed that loads it.
DEFAULT_CATALOGUE_PATH = ROOT / "db" / "catalogue.json"


class DatabaseSettings(BaseSettings):
    """PostgreSQL: which server, the pool, migrations and the catalogue seed."""

    database_url: str | None = Field(
        None, description="PostgreSQL to use; unset starts an embedded PostgreSQL in `.pgdata/`."
    )
    database_read_url: str | None = Field(
        None,
        description="A read replica for catalogue lookups and listings; jobs always go to "
        "`DATABASE_URL`.",
    )
    embedded_pgdata: Path = Field(
        ROOT / ".pgdata", description="Data folder of the embedded PostgreSQL."
    )
    db_pool_min: int = Field(2, ge=0, le=1000, description="asyncpg pool: fewest connections.")
    db_pool_max: int = Field(10, ge=1, le=1000, description="asyncpg pool: most connections.")
    db_command_timeout: float = Field(
        10.0, ge=0.1, description="Seconds before any statement is abandoned."
    )
    db_statement_timeout_ms: int = Field(
        2000,
        ge=10,
        le=600_000,
        description="Milliseconds one step of a request may wait on PostgreSQL (a pool acquire "
        "and its statements: an API key check, a job's insert); past it the connection is "
        "dropped and the request answered `SERVICE_UNAVAILABLE`, retryable.",
    )
    database_probe_timeout: float = Field(
        1.0,
        gt=0,
        le=60,
        description="Seconds `/health` waits for PostgreSQL before it reports it unreachable.",
    )
    migrate_on_start: bool = Field(True, description="Apply pending migrations at start.")
    seed_on_start: bool = Field(
        True, description="Upsert the catalogue file into the database at start."
    )
    catalogue_path: Path = Field(
        DEFAULT_CATALOGUE_PATH, description="The catalogue file (validated at start)."
    )

    @model_validator(mode="after")
    def _pool_bounds(self) -> Self:
        if self.db_pool_min > self.db_pool_max:
            raise ValueError("'DB_POOL_MIN' must not be greater than 'DB_POOL_MAX'")
        return self
