"""Fixtures of the database tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.support import prepare_database


@pytest.fixture
async def conn(empty_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a migrated database of this test's own (no catalogue)."""
    await prepare_database(empty_database_url)
    connection = await asyncpg.connect(empty_database_url)
    yield connection
    await connection.close()
