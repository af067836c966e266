"""Which database failures are infrastructure faults (retryable) rather than bad requests."""

from __future__ import annotations

import asyncio

import asyncpg

# Errors that say "the database could not be reached or did not answer in time": the same
# statement may succeed on retry. Constraint violations and syntax errors are not among them.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # includes ConnectionRefusedError / ConnectionResetError
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # e.g. "connection was closed in the middle of operation"
    # e.g. "cannot switch to state 12; another operation (2) is in progress": a pooled
    # connection left mid-operation by a fault; db/pool.py discards it, the next one is fresh.
    asyncpg.InternalClientError,
    asyncpg.TooManyConnectionsError,
    asyncpg.CannotConnectNowError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.QueryCanceledError,  # statement_timeout
    asyncpg.AdminShutdownError,
)


# Errors after which a connection cannot be trusted with another statement: its socket is gone
# or its protocol state is not idle. Such a connection is closed rather than pooled again.
BROKEN_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


def breaks_connection(exc: BaseException) -> bool:
    return isinstance(exc, BROKEN_CONNECTION_ERRORS)


def is_transient(exc: BaseException) -> bool:
    """True when `exc` is an infrastructure fault worth retrying, never for cancellation."""
    if isinstance(exc, asyncio.CancelledError):
        return False
    return isinstance(exc, TRANSIENT_ERRORS)
