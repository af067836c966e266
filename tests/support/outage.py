"""A real database outage, confined to one test's own database: new connections are refused
(ALLOW_CONNECTIONS false) and the open ones are terminated. Other databases on the shared
server are untouched."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg


def database_name(url: str) -> str:
    return url.partition("?")[0].rsplit("/", 1)[1]


async def cut_off(server_url: str, database: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    finally:
        await conn.close()


async def restore(server_url: str, database: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
    finally:
        await conn.close()


@asynccontextmanager
async def database_outage(server_url: str, database_url: str) -> AsyncIterator[None]:
    database = database_name(database_url)
    await cut_off(server_url, database)
    try:
        yield
    finally:
        await restore(server_url, database)
