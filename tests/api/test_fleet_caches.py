"""Two instances on one database and one Redis: a catalogue change written by SQL (no seed, no
instance of ours) is answered by both within a second, through the Redis level of the lookup
cache, and never the old answer again; a revocation refuses the key in both within a second."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import asyncpg
import pytest

from tests.support import REDIS_URL, AppHarness, error_codes, running_app
from tests.support.keys import issue_api_key
from tests.support.polling import eventually

MICRO = 'query { microService(slug: "wall-painting") { name } }'
RENAME = "UPDATE micro_services SET name = $1 WHERE slug = 'wall-painting'"


@pytest.fixture
async def two_instances(
    seeded_database_url: str, redis_namespace: str
) -> AsyncIterator[tuple[AppHarness, AppHarness]]:
    shared = {
        "redis_url": REDIS_URL,
        "cache_namespace": f"{redis_namespace}:lookup",
        "response_cache_namespace": f"{redis_namespace}:rc",
        "migrate_on_start": False,
        "seed_on_start": False,
    }
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(running_app(seeded_database_url, **shared))
        # The second starts cold: whatever it answers comes from Redis or the database.
        second = await stack.enter_async_context(
            running_app(seeded_database_url, cache_warm_up=False, **shared)
        )
        yield first, second


async def _name(api: AppHarness) -> str:
    # GET and POST alike may be answered from the response cache; both levels are under test.
    body = await api.graphql(MICRO)
    name: str = body["data"]["microService"]["name"]
    return name


async def test_a_rename_by_sql_reaches_both_instances_through_redis_within_a_second(
    two_instances: tuple[AppHarness, AppHarness], seeded_database_url: str
) -> None:
    first, second = two_instances
    old = await _name(first)
    assert await _name(second) == old
    second.statements.clear()
    assert await _name(second) == old  # served by the caches, not the database
    assert second.statements.lookups == []

    conn = await asyncpg.connect(seeded_database_url)
    try:
        await conn.execute(RENAME, "Wall painting, renamed")
    finally:
        await conn.close()
    changed = time.monotonic()

    async def both_renamed() -> bool:
        return {await _name(first), await _name(second)} == {"Wall painting, renamed"}

    await eventually(both_renamed, timeout=1.0, what="both instances answer the new name")
    assert time.monotonic() - changed < 1.0
    # The Redis level took part: the new row is kept there under the new version, and the
    # second instance's empty memory refills from it without a query.
    second.app_state.lookup.cache.local.clear()
    second.http_state.response_cache.clear_local()  # type: ignore[union-attr]
    second.statements.clear()
    for _ in range(5):
        assert await _name(second) == "Wall painting, renamed"
        assert await _name(first) == "Wall painting, renamed"
    assert second.statements.lookups == []


async def test_a_revocation_refuses_the_key_in_both_instances_within_a_second(
    two_instances: tuple[AppHarness, AppHarness], seeded_database_url: str
) -> None:
    first, second = two_instances
    query = f'query {{ job(id: "{uuid.uuid4()}") {{ id }} }}'
    conn = await asyncpg.connect(seeded_database_url)
    try:
        key = await issue_api_key(conn, name="fleet", scopes=["jobs:write"])
        for api in (first, second):  # each verifies the key and keeps its verdict
            for _ in range(2):
                body = await api.graphql(query, headers=key.headers)
                assert body["data"] == {"job": None}, body
        await conn.execute("UPDATE api_keys SET revoked_at = now() WHERE id = $1", key.id)
    finally:
        await conn.close()

    async def refused_by_both() -> bool:
        codes = [
            error_codes(await api.graphql(query, headers=key.headers)) for api in (first, second)
        ]
        return codes == [["UNAUTHENTICATED"], ["UNAUTHENTICATED"]]

    await eventually(refused_by_both, timeout=1.0, what="both instances refuse the revoked key")
