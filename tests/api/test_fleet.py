"""A fleet: three server processes (`WORKERS=1`) on one PostgreSQL primary with a streaming
replica (tests/support/replication.py) and one Redis. A catalogue change made by SQL is seen by
every instance within 3 s and never the old answer again; each instance's catalogue reads run
on the replica (seen from the replica: the statements of each process's named connections);
a job published on one instance is read on another at once, with the replica's replay paused;
a revocation is refused everywhere within a second; one client has one anonymous budget."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack

import asyncpg
import httpx
import pytest

from config.limits import LimitSettings
from domain.catalogue import Catalogue
from tests.support import REDIS_URL, error_codes
from tests.support.jobs import PUBLISH, publish_input
from tests.support.keys import IssuedKey, issue_api_key
from tests.support.polling import eventually
from tests.support.processes import ServerProcess, serving
from tests.support.replication import (
    StreamingPair,
    seeded_on_both,
    streaming_pair,
    why_no_replica,
)
from tests.support.resilience import drop_namespace, unique_namespace

# How long a reading of the shared counters is trusted, by default.
SYNC_SECONDS = LimitSettings.model_fields["rate_limit_sync_seconds"].default

pytestmark = pytest.mark.skipif(why_no_replica() is not None, reason=str(why_no_replica()))

DATABASE = "jw_fleet_three"
MICRO = 'query { microService(slug: "wall-painting") { name } }'
LIST = '{ microServices(category: "painting") { slug name } }'
RENAME = "UPDATE micro_services SET name = $1 WHERE slug = 'wall-painting'"
INSTANCES = 3


@pytest.fixture(scope="module")
def pair() -> Iterator[StreamingPair]:
    with streaming_pair() as made:
        yield made


@pytest.fixture(scope="module")
async def primary_url(pair: StreamingPair, catalogue: Catalogue) -> str:
    return await seeded_on_both(pair, DATABASE, catalogue)


@pytest.fixture(scope="module")
async def namespace() -> AsyncIterator[str]:
    name = unique_namespace()
    yield name
    await drop_namespace(name)


@pytest.fixture(scope="module")
def fleet(
    pair: StreamingPair, primary_url: str, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[ServerProcess]]:
    logs = tmp_path_factory.mktemp("fleet")
    settings = {
        "WORKERS": "1",
        "LOG_LEVEL": "warning",
        "SEARCH_SEMANTIC": "false",
        "MIGRATE_ON_START": "false",
        "SEED_ON_START": "false",
        "REPLICA_CHECK_SECONDS": "0.2",
        "REDIS_URL": REDIS_URL,
        "CACHE_NAMESPACE": f"{namespace}:lookup",
        "RESPONSE_CACHE_NAMESPACE": f"{namespace}:rc",
    }
    replica = pair.url(pair.replica_port, DATABASE)
    with ExitStack() as stack:
        yield [
            stack.enter_context(
                serving(
                    primary_url,
                    logs / f"{n}.log",
                    timeout=60,
                    # Named, so that the replica tells whose connections ran what.
                    DATABASE_REPLICA_URL=f"{replica}?application_name={_name_of(n)}",
                    **settings,
                )
            )
            for n in range(INSTANCES)
        ]


def _name_of(instance: int) -> str:
    return f"jw-fleet-{instance}"


async def _graphql(
    client: httpx.AsyncClient, server: ServerProcess, query: str, key: IssuedKey | None = None
) -> dict[str, object]:
    response = await client.post(
        f"{server.url}/graphql",
        json={"query": query},
        headers=key.headers if key is not None else {},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def _name(client: httpx.AsyncClient, server: ServerProcess) -> str:
    body = await _graphql(client, server, MICRO)
    data = body["data"]
    assert isinstance(data, dict), body
    name: str = data["microService"]["name"]
    return name


async def _sql(url: str, sql: str, *args: object) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def test_a_catalogue_change_by_sql_reaches_every_instance_within_3_seconds(
    fleet: list[ServerProcess], primary_url: str
) -> None:
    async with httpx.AsyncClient() as client:
        old = {await _name(client, server) for server in fleet for _ in range(2)}  # kept
        assert len(old) == 1
        await _sql(primary_url, RENAME, "Wall painting, fleet-wide")
        changed = time.monotonic()

        async def everywhere() -> bool:
            names = {await _name(client, server) for server in fleet}
            return names == {"Wall painting, fleet-wide"}

        await eventually(everywhere, timeout=3.0, what="every instance answers the new name")
        assert time.monotonic() - changed < 3.0
        for _ in range(3):  # and never the old name again, from any level of any cache
            for server in fleet:
                assert await _name(client, server) == "Wall painting, fleet-wide"


async def test_every_instance_reads_the_catalogue_on_the_replica(
    fleet: list[ServerProcess], pair: StreamingPair
) -> None:
    replica = pair.url(pair.replica_port, DATABASE)
    async with httpx.AsyncClient() as client:
        for n, server in enumerate(fleet):

            async def replica_ok(server: ServerProcess = server) -> bool:
                # Right after a catalogue change the replica is "catching_up" for a moment.
                health = (await client.get(f"{server.url}/health")).json()
                return bool(health["replica"]["state"] == "ok")

            await eventually(replica_ok, timeout=5, what=f"{server.url} uses the replica")
            # A listing is no cached answer: each one is a read, on the replica.
            body = await _graphql(client, server, LIST)
            assert "errors" not in body, body
            ran = await _sql(
                replica,
                "SELECT string_agg(query, ' | ') FROM pg_stat_activity "
                "WHERE datname = $1 AND application_name = $2",
                DATABASE,
                _name_of(n),
            )
            assert "micro_services" in str(ran), ran


async def test_a_job_published_on_one_instance_is_read_on_another_at_once(
    fleet: list[ServerProcess], pair: StreamingPair, primary_url: str
) -> None:
    conn = await asyncpg.connect(primary_url)
    try:
        key = await issue_api_key(conn, name="fleet", scopes=["jobs:write"])
    finally:
        await conn.close()
    replica = pair.url(pair.replica_port, DATABASE)
    # The replica frozen: a read of one's own write that went to it would not find the job.
    await _sql(replica, "SELECT pg_wal_replay_pause()")
    try:
        async with httpx.AsyncClient() as client:
            for writer, reader in ((0, 1), (1, 2), (2, 0)):
                response = await client.post(
                    f"{fleet[writer].url}/graphql",
                    json={"query": PUBLISH, "variables": publish_input(uuid.uuid4().hex)},
                    headers=key.headers,
                    timeout=10,
                )
                job_id = response.json()["data"]["publishJob"]["job"]["id"]
                read = await _graphql(
                    client, fleet[reader], f'{{ job(id: "{job_id}") {{ id }} }}', key
                )
                assert read["data"] == {"job": {"id": job_id}}, read
    finally:
        await _sql(replica, "SELECT pg_wal_replay_resume()")


async def test_a_revocation_is_refused_by_every_instance_within_a_second(
    fleet: list[ServerProcess], primary_url: str
) -> None:
    query = f'query {{ job(id: "{uuid.uuid4()}") {{ id }} }}'
    conn = await asyncpg.connect(primary_url)
    try:
        key = await issue_api_key(conn, name="revoked", scopes=["jobs:write"])
        async with httpx.AsyncClient() as client:
            for server in fleet:  # each verifies the key and keeps its verdict
                for _ in range(2):
                    assert (await _graphql(client, server, query, key))["data"] == {"job": None}
            await conn.execute("UPDATE api_keys SET revoked_at = now() WHERE id = $1", key.id)
            revoked = time.monotonic()

            async def refused_everywhere() -> bool:
                codes = [error_codes(await _graphql(client, s, query, key)) for s in fleet]
                return codes == [["UNAUTHENTICATED"]] * INSTANCES

            await eventually(refused_everywhere, timeout=1.0, what="every instance refuses")
            assert time.monotonic() - revoked < 1.0
    finally:
        await conn.close()


async def test_the_anonymous_budget_is_one_for_the_whole_fleet(
    fleet: list[ServerProcess],
) -> None:
    """One client's requests to each instance in turn draw on one counter in Redis: each
    instance counts on its own between readings of it (api/rate_limits.py), so once every
    instance has read it again, what is left is down by exactly one per request (a listing
    costs one), whichever instance answered."""

    async def remaining(client: httpx.AsyncClient, server: ServerProcess) -> int:
        response = await client.post(f"{server.url}/graphql", json={"query": LIST})
        assert response.status_code == 200, response.text
        policy, left = response.headers["ratelimit"].split(";")[:2]
        assert policy == '"anonymous"'
        return int(left.removeprefix("r="))

    async def settle(client: httpx.AsyncClient) -> None:
        """Every instance writes what it counted on its own (earlier tests' requests too)."""
        await asyncio.sleep(SYNC_SECONDS * 2)
        for server in fleet:
            await remaining(client, server)
        await asyncio.sleep(SYNC_SECONDS * 2)

    async with httpx.AsyncClient() as client:
        await settle(client)
        before = await remaining(client, fleet[0])
        left = [await remaining(client, server) for server in [*fleet, *fleet]]
        # Every instance saw the others' requests at its first reading or counts down its own.
        firsts, seconds = left[: len(fleet)], left[len(fleet) :]
        assert all(later < earlier for earlier, later in zip(firsts, seconds, strict=True))
        # Each instance writes what it counted with its next reading, once its last is old.
        await settle(client)
        final = await remaining(client, fleet[0])
    sent = 2 * len(fleet) + len(fleet) + 1  # after `before`: the rounds, settling, the last
    assert final == before - sent, (before, left, final)
