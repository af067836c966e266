"""Behind PgBouncer in transaction mode (Debian's, tests/support/pgbouncer.py), with fewer server
connections than the app's pool holds, so that one client connection's statements land on
several server connections: no prepared statement is kept across transactions
(`DB_STATEMENT_CACHE_SIZE=0`), the migrations' lock and the listener's LISTEN use the direct
connection (`DATABASE_LISTEN_URL`), and a catalogue change by SQL still reaches the app."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest

from domain.catalogue import Catalogue
from tests.support import running_app
from tests.support.jobs import PUBLISH, publish_input
from tests.support.keys import issue_api_key
from tests.support.pgbouncer import Bouncer, pgbouncer, why_no_pgbouncer
from tests.support.polling import eventually

pytestmark = pytest.mark.skipif(why_no_pgbouncer() is not None, reason=str(why_no_pgbouncer()))

MICRO = 'query { microService(slug: "wall-painting") { name } }'
RENAME = "UPDATE micro_services SET name = 'Through the bouncer' WHERE slug = 'wall-painting'"
TREE = "{ categories { slug subcategories { microServices { slug name } } } }"


@pytest.fixture
def bouncer(server_url: str) -> Iterator[Bouncer]:
    with pgbouncer(server_url, server_connections=2) as running:
        yield running


async def test_the_app_serves_and_publishes_through_pgbouncer_in_transaction_mode(
    bouncer: Bouncer, empty_database_url: str, catalogue: Catalogue
) -> None:
    async with running_app(
        bouncer.url_for(empty_database_url),
        database_listen_url=empty_database_url,
        db_statement_cache_size=0,
        db_pool_max=6,  # more client connections than PgBouncer's two server connections
        response_cache=False,
        # Statements queue in PgBouncer for its two server connections: on a loaded machine
        # that wait, not a fault, can pass the lookups' own deadline, and the job reads' and
        # writes'. This test is about the protocol through the bouncer, not its latency.
        lookup_statement_timeout_ms=10_000,
        db_statement_timeout_ms=10_000,
    ) as api:
        assert api.state["invalidation"].live()
        conn = await asyncpg.connect(empty_database_url)
        try:
            key = await issue_api_key(conn, name="bouncer", scopes=["jobs:write"])
        finally:
            await conn.close()

        async def one_round(i: int) -> None:
            api.app_state.lookup.cache.local.clear()  # every round reaches PostgreSQL
            tree = await api.graphql(TREE)
            assert "errors" not in tree, tree
            published = await api.graphql(
                PUBLISH, publish_input(f"bouncer-{i}"), headers=key.headers
            )
            assert "errors" not in published, published
            job_id = published["data"]["publishJob"]["job"]["id"]
            read = await api.graphql(f'{{ job(id: "{job_id}") {{ id }} }}', headers=key.headers)
            assert read["data"]["job"]["id"] == job_id

        # Twice the pool's connections at once: statements queue in PgBouncer for its two server
        # connections, without so many that a loaded machine times the catalogue listing out.
        await asyncio.gather(*(one_round(i) for i in range(12)))

        conn = await asyncpg.connect(empty_database_url)
        try:
            await conn.execute(RENAME)
            assert await conn.fetchval("SELECT count(*) FROM jobs") == 12
        finally:
            await conn.close()

        async def renamed() -> bool:
            body = await api.graphql(MICRO)
            return bool(body["data"]["microService"]["name"] == "Through the bouncer")

        await eventually(renamed, timeout=1.0, what="the rename, heard on the direct connection")
