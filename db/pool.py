"""The asyncpg connection pool."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeAlias, TypeVar, cast

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from db.errors import breaks_connection

log = logging.getLogger(__name__)

PING = "SELECT 1"

QueryLogger = Callable[[Any], None]
# A connection of our own, or one borrowed from the pool: repositories accept either.
Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy


_Method = TypeVar("_Method", bound=Callable[..., Awaitable[Any]])


def _discard_when_broken(method: _Method) -> _Method:
    @functools.wraps(method)
    async def call(self: asyncpg.Connection, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except Exception as exc:
            if breaks_connection(exc) and not self.is_closed():
                # The pool's release would hand this connection to the next request, which
                # would fail the same way ("another operation is in progress"): close it now,
                # and the pool opens a fresh one when it needs one.
                self.terminate()
            raise

    return cast(_Method, call)


class DiscardingConnection(asyncpg.Connection):
    """A connection that closes itself when a statement fails in a way that leaves it unusable
    (socket gone, protocol mid-operation), so that a fault costs one request, not every request
    that would later borrow the same connection. Every statement a repository runs goes through
    one of these methods (transactions use `execute`)."""

    execute = _discard_when_broken(asyncpg.Connection.execute)
    executemany = _discard_when_broken(asyncpg.Connection.executemany)
    fetch = _discard_when_broken(asyncpg.Connection.fetch)
    fetchrow = _discard_when_broken(asyncpg.Connection.fetchrow)
    fetchval = _discard_when_broken(asyncpg.Connection.fetchval)
    copy_records_to_table = _discard_when_broken(asyncpg.Connection.copy_records_to_table)


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
    statement_timeout_ms: int | None = None,
    statement_cache_size: int = 100,
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
        connection_class=DiscardingConnection,
        statement_cache_size=statement_cache_size,
        # Set at connect time (a startup parameter), not by a SET on the session.
        server_settings=(
            {"statement_timeout": str(statement_timeout_ms)} if statement_timeout_ms else None
        ),
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


class DatabaseStalled(TimeoutError):
    """The database did not answer within a request's deadline (a transient fault)."""


@asynccontextmanager
async def connection_within(
    pool: asyncpg.Pool, seconds: float, what: str
) -> AsyncIterator[PoolConnectionProxy]:
    """A pooled connection for one request's step, the acquire (and connect) and every
    statement run on it in the block under one deadline of `seconds`.

    Past the deadline the connection is dropped, not released politely: asyncpg's cancel and
    reset would wait on the very network that stalled, and the request with them. An open
    transaction dies with the connection, so nothing is half-written.
    """
    deadline = asyncio.get_running_loop().time() + seconds
    try:
        async with asyncio.timeout_at(deadline):
            conn = await pool.acquire()
    except TimeoutError as exc:
        log.warning("database stalled: no connection for the %s within %.2f s", what, seconds)
        raise DatabaseStalled(f"no connection for the {what} within {seconds} s") from exc
    try:
        async with asyncio.timeout_at(deadline):
            yield conn
    except TimeoutError as exc:
        conn.terminate()
        log.warning("database stalled: the %s got no answer within %.2f s", what, seconds)
        raise DatabaseStalled(f"the {what} got no answer within {seconds} s") from exc
    except asyncio.CancelledError:
        conn.terminate()
        raise
    finally:
        await pool.release(conn)


async def ping(conn: Connection) -> None:
    """One round trip: the database answers."""
    await conn.fetchval(PING)
