"""A connection for one request's database work, bounded by the statement timeout, where a
database fault is the client's "retry later" rather than an internal error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from context import Context
from db.errors import is_transient
from db.pool import Connection, connection_within
from domain.errors import ServiceUnavailableError


@asynccontextmanager
async def request_connection(
    context: Context, what: str, *, unavailable: str | None = None
) -> AsyncIterator[Connection]:
    """A primary connection within the statement timeout (its acquire included); a transient
    database fault raises ServiceUnavailableError with `unavailable`, or a message naming
    `what`."""
    app = context.app
    try:
        async with connection_within(
            app.pool, app.settings.db_statement_timeout_ms / 1000, what
        ) as conn:
            yield conn
    except Exception as exc:
        if is_transient(exc):
            message = unavailable or f"The {what} cannot be done right now; retry."
            raise ServiceUnavailableError(message) from exc
        raise
