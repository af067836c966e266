"""Start-up wiring of the lookup: warm-up, and cache invalidation by re-seeding."""

from __future__ import annotations

import logging
import uuid

import asyncpg
import pytest

from db.notifications import catalogue_version
from db.records import MicroServiceRecord
from domain.catalogue import Catalogue
from ops.commands import seed
from tests.support import REDIS_URL, prepare_database, running_app
from tests.support.resilience import cache_for

STALE = MicroServiceRecord(
    id=uuid.UUID(int=1),
    slug="wall-painting",
    name="Stale name",
    category="painting",
    subcategory="interior",
    description="",
)


async def _plant_stale_entry(namespace: str, version: int = 0) -> None:
    cache = cache_for(cache_namespace=namespace, redis_url=REDIS_URL)
    cache.version = version
    try:
        await cache.set_many({STALE.slug: STALE})
    finally:
        await cache.close()


async def _shared_entry(namespace: str, version: int) -> object:
    cache = cache_for(cache_namespace=namespace, redis_url=REDIS_URL)
    cache.version = version
    try:
        [value] = await cache.get_many([STALE.slug])
    finally:
        await cache.close()
    return value


async def test_warm_up_loads_every_active_micro_service_in_one_query(
    database_url: str, catalogue: Catalogue
) -> None:
    async with running_app(database_url, migrate_on_start=False, seed_on_start=False) as api:
        assert len(api.app_state.lookup.cache.local) == len(catalogue.by_slug)
        assert len(api.statements.matching("FROM micro_services")) == 1
        api.statements.clear()
        body = await api.graphql('query { microService(slug: "wall-painting") { slug } }')
        assert body["data"]["microService"]["slug"] == "wall-painting"
        assert api.statements.statements == []  # the first request is a hit


async def test_a_failed_warm_up_is_logged_and_the_server_still_starts(
    empty_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="app.wiring")
    # No tables: the warm-up query fails for real.
    async with running_app(empty_database_url, migrate_on_start=False, seed_on_start=False) as api:
        assert (await api.client.get("/health")).status_code in (200, 503)
        assert len(api.app_state.lookup.cache.local) == 0
    assert any("warm-up failed" in r.message for r in caplog.records)


async def test_the_start_up_seed_invalidates_the_entries_it_changed_in_redis(
    empty_database_url: str, redis_namespace: str
) -> None:
    await _plant_stale_entry(redis_namespace)
    async with running_app(
        empty_database_url,
        redis_url=REDIS_URL,
        cache_namespace=redis_namespace,
        cache_warm_up=False,
    ) as api:
        api.statements.clear()  # the seed's own statements
        body = await api.graphql('query { microService(slug: "wall-painting") { id name } }')
        assert body["data"]["microService"]["id"] != str(STALE.id)
        assert len(api.statements.lookups) == 1  # the stale entry was gone: read from SQL


async def test_after_the_seed_command_no_shared_entry_from_before_is_read(
    empty_database_url: str, redis_namespace: str, catalogue: Catalogue
) -> None:
    await prepare_database(empty_database_url)
    before = await _version(empty_database_url)
    await _plant_stale_entry(redis_namespace, before)
    assert await _shared_entry(redis_namespace, before) == STALE
    await seed(empty_database_url, catalogue)
    after = await _version(empty_database_url)
    assert after > before
    assert await _shared_entry(redis_namespace, after) is None


async def _version(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await catalogue_version(conn)
    finally:
        await conn.close()
