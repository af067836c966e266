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
    asyncpg.TooManyConnectionsError,
    asyncpg.CannotConnectNowError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.QueryCanceledError,  # statement_timeout
    asyncpg.AdminShutdownError,
)


def is_transient(exc: BaseException) -> bool:
    """True when `exc` is an infrastructure fault worth retrying, never for cancellation."""
    if isinstance(exc, asyncio.CancelledError):
        return False
    return isinstance(exc, TRANSIENT_ERRORS)
