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
    database_replica_url: str | None = Field(
        None,
        description="A streaming replica of `DATABASE_URL` for catalogue, search, suggestions "
        "and monitoring reads; writes, and reads of what a caller has just written (jobs, "
        "keys), stay on the primary. Left for the primary while it fails or lags.",
    )
    database_read_url: str | None = Field(
        None, description="The former name of `DATABASE_REPLICA_URL`, still read when it is unset."
    )
    replica_max_lag_seconds: float = Field(
        5.0,
        gt=0,
        le=3600,
        description="A replica further behind the primary than this is left for the primary "
        "until it catches up.",
    )
    replica_check_seconds: float = Field(
        1.0,
        ge=0.05,
        le=60,
        description="How often each process compares the replica's replay position with the "
        "primary's (the lag `/health` and `/metrics` show).",
    )
    database_listen_url: str | None = Field(
        None,
        description="A direct connection to the primary (not through PgBouncer) for what "
        "needs a session of its own: the invalidation listener's LISTEN and the migrations' "
        "advisory lock at start; unset, `DATABASE_URL`.",
    )
    db_statement_cache_size: int = Field(
        100,
        ge=0,
        le=10_000,
        description="Prepared statements each connection keeps (asyncpg's statement cache); "
        "`0` behind PgBouncer in transaction mode older than 1.21, which cannot keep a "
        "prepared statement across transactions.",
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

    @property
    def replica_url(self) -> str | None:
        return self.database_replica_url or self.database_read_url

    @model_validator(mode="after")
    def _pool_bounds(self) -> Self:
        if self.db_pool_min > self.db_pool_max:
            raise ValueError("'DB_POOL_MIN' must not be greater than 'DB_POOL_MAX'")
        return self
