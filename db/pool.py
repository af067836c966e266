"""The asyncpg connection pool."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

QueryLogger = Callable[[Any], None]
# A connection of our own, or one borrowed from the pool: repositories accept either.
Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb in and out as Python objects, so repositories never hand-serialise answers.
    await conn.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog", format="text"
    )


async def create_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    command_timeout: float = 10.0,
    query_loggers: Sequence[QueryLogger] = (),
) -> asyncpg.Pool:
    """Open a pool whose connections decode jsonb and report each statement to `query_loggers`
    (asyncpg's query logger: metrics per statement, and the tests' statement counts)."""

    async def init(conn: asyncpg.Connection) -> None:
        await _init_connection(conn)
        for logger in query_loggers:
            conn.add_query_logger(logger)

    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        command_timeout=command_timeout,
        init=init,
    )
    assert pool is not None  # create_pool returns None only when awaited without a loop
    return pool
