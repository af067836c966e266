"""The asyncpg connection pool."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
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


async def keep_session(conn: asyncpg.Connection) -> None:
    """What the pool runs when a connection is released, instead of asyncpg's default reset.

    The default sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;`: one
    more round trip per request (measured: see the commit that added this), undoing session
    state this application never leaves behind:
    - no SET / set_config / LISTEN / DECLARE (cursors) / temporary tables anywhere: every
      statement is a constant in db/ and tests/db/test_pool.py fails if one of those appears;
    - the only session-level advisory lock, the migration lock, is released in a `finally` on
      the same connection (db/migrate.py), and by the server if the connection dies;
    - transactions are always `async with conn.transaction()`; an open one is still rolled back
      on release by asyncpg itself (it runs before this hook, whatever the hook does).
    asyncpg's own prepared statements are session state we want kept: they are the statement
    cache that spares a Parse per query.
    """


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
        reset=keep_session,
    )
    assert pool is not None  # create_pool returns None only when awaited without a loop
    return pool


@asynccontextmanager
async def single_connection(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """One connection for an operator's command, closed however the command ends."""
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()
