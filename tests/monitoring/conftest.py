from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from db.analytics import create_events_pool
from tests.support import prepare_database


@pytest.fixture
async def migrated_url(empty_database_url: str) -> str:
    """A database of this test's own with the schema but no catalogue."""
    await prepare_database(empty_database_url)
    return empty_database_url


@pytest.fixture
async def events_pool(migrated_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_events_pool(migrated_url, connect_timeout=2.0)
    yield pool
    await pool.close()
