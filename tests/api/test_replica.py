"""`DATABASE_REPLICA_URL` against a real streaming replica (tests/support/replication.py):
catalogue reads go to it and writes stay on the primary; a catalogue change is never answered
from a replica that has not replayed it; a replica that stops is left for the primary with every
read still answered, and used again once it is back. Which server ran a statement is read from
the connection it ran on (its port), not guessed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from domain.catalogue import Catalogue
from tests.support import LOOKUP_STATEMENT, AppHarness, running_app
from tests.support.jobs import PUBLISH, publish_input
from tests.support.keys import issue_api_key
from tests.support.polling import eventually
from tests.support.replication import (
    StreamingPair,
    seeded_on_both,
    streaming_pair,
    why_no_replica,
)

pytestmark = pytest.mark.skipif(why_no_replica() is not None, reason=str(why_no_replica()))

DATABASE = "jw_fleet"
MICRO = 'query { microService(slug: "wall-painting") { name } }'
LIST = '{ microServices(category: "painting") { slug name } }'
RENAME = "UPDATE micro_services SET name = $1 WHERE slug = 'wall-painting'"


@pytest.fixture(scope="module")
def pair() -> Iterator[StreamingPair]:
    with streaming_pair() as made:
        yield made


@pytest.fixture(scope="module")
async def primary_url(pair: StreamingPair, catalogue: Catalogue) -> str:
    return await seeded_on_both(pair, DATABASE, catalogue)


@pytest.fixture
async def api(pair: StreamingPair, primary_url: str) -> AsyncIterator[AppHarness]:
    async with running_app(
        primary_url,
        database_replica_url=pair.url(pair.replica_port, DATABASE),
        migrate_on_start=False,
        seed_on_start=False,
        response_cache=False,  # every request reaches the lookup and listing reads
        replica_check_seconds=0.1,
    ) as harness:
        await eventually(lambda: _state(harness) == "ok", timeout=10, what="replica ok")
        yield harness


def _state(api: AppHarness) -> str:
    replica = api.app_state.catalogue_reads.replica
    assert replica is not None
    return replica.status().state


async def _on_replica(pair: StreamingPair, sql: str, *args: object) -> object:
    conn = await asyncpg.connect(pair.url(pair.replica_port, DATABASE))
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def _names(api: AppHarness) -> dict[str, str]:
    listed = (await api.graphql(LIST))["data"]["microServices"]
    return {m["slug"]: m["name"] for m in listed}


async def _rename(primary_url: str, name: str) -> None:
    conn = await asyncpg.connect(primary_url)
    try:
        await conn.execute(RENAME, name)
    finally:
        await conn.close()


async def test_catalogue_reads_go_to_the_replica_and_writes_with_their_reads_to_the_primary(
    api: AppHarness, pair: StreamingPair, primary_url: str
) -> None:
    api.app_state.lookup.cache.local.clear()
    api.statements.clear()
    assert "errors" not in await api.graphql(MICRO)
    assert "errors" not in await api.graphql(LIST)
    on_replica = api.statements.on_port(pair.replica_port)
    assert any(LOOKUP_STATEMENT in s for s in on_replica)
    assert any("FROM micro_services" in s and LOOKUP_STATEMENT not in s for s in on_replica)
    health = (await api.client.get("/health")).json()
    assert health["replica"]["state"] == "ok"
    metrics = (await api.client.get("/metrics")).text
    assert 'jobwizard_replica_state{state="ok"} 1.0' in metrics

    # A job and the read of it right after: on the primary, even with the replica frozen.
    await _on_replica(pair, "SELECT pg_wal_replay_pause()")
    try:
        conn = await asyncpg.connect(primary_url)
        try:
            key = await issue_api_key(conn, name="replica", scopes=["jobs:write"])
        finally:
            await conn.close()
        api.statements.clear()
        published = await api.graphql(PUBLISH, publish_input(), headers=key.headers)
        job_id = published["data"]["publishJob"]["job"]["id"]
        read = await api.graphql(f'{{ job(id: "{job_id}") {{ id }} }}', headers=key.headers)
        assert read["data"]["job"]["id"] == job_id
        assert not any("jobs" in s for s in api.statements.on_port(pair.replica_port))
    finally:
        await _on_replica(pair, "SELECT pg_wal_replay_resume()")


async def test_a_change_the_replica_has_not_replayed_is_answered_from_the_primary(
    api: AppHarness, pair: StreamingPair, primary_url: str
) -> None:
    before = (await api.graphql(MICRO))["data"]["microService"]["name"]
    await _on_replica(pair, "SELECT pg_wal_replay_pause()")
    try:
        await _rename(primary_url, "Renamed while the replica waits")
        changed = time.monotonic()

        async def renamed() -> bool:
            body = await api.graphql(MICRO)
            return bool(body["data"]["microService"]["name"] == "Renamed while the replica waits")

        await eventually(renamed, timeout=1.0, what="the new name, from the primary")
        assert time.monotonic() - changed < 1.0
        assert _state(api) in ("catching_up", "lagging")
        # Never the old name again, from either read, while the replica is still behind.
        for _ in range(10):
            assert (await api.graphql(MICRO))["data"]["microService"]["name"] != before
            assert (await _names(api))["wall-painting"] == "Renamed while the replica waits"
        assert (
            await _on_replica(pair, "SELECT name FROM micro_services WHERE slug = 'wall-painting'")
            == before
        )  # the replica really is behind
    finally:
        await _on_replica(pair, "SELECT pg_wal_replay_resume()")
    await eventually(lambda: _state(api) == "ok", timeout=5, what="replica caught up")
    api.statements.clear()
    assert (await _names(api))["wall-painting"] == "Renamed while the replica waits"
    assert api.statements.on_port(pair.replica_port)  # back on the replica
    await _rename(primary_url, before)


async def test_a_stopped_replica_is_left_for_the_primary_and_used_again_when_back(
    api: AppHarness, pair: StreamingPair
) -> None:
    await asyncio.to_thread(pair.stop_replica)
    try:
        for _ in range(5):
            api.app_state.lookup.cache.local.clear()  # every round reads the database
            started = time.monotonic()
            one = await api.graphql(MICRO)
            listed = await api.graphql(LIST)
            assert time.monotonic() - started < 2.0
            assert "errors" not in one, one
            assert "errors" not in listed, listed
        await eventually(lambda: _state(api) == "down", timeout=5, what="replica seen down")
        health = (await api.client.get("/health")).json()
        assert health["status"] == "ok"
        assert health["replica"]["state"] == "down"
    finally:
        await asyncio.to_thread(pair.start_replica)
    await eventually(lambda: _state(api) == "ok", timeout=10, what="replica back")
    api.app_state.lookup.cache.local.clear()
    api.statements.clear()
    assert "errors" not in await api.graphql(MICRO)
    assert api.statements.on_port(pair.replica_port)
