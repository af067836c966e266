"""WORKERS and DATABASE_REPLICA_URL (or its former name DATABASE_READ_URL): read from the
environment; catalogue reads go to the replica, jobs to the primary."""

import os

import asyncpg
import pytest

from config import ConfigError, Settings
from domain.catalogue import Catalogue
from tests.support import prepare_database, running_app
from tests.support.jobs import EXAMPLE_LOCATION, WALL_PAINTING_ANSWERS
from tests.support.keys import IssuedKey


def test_workers_default_to_the_number_of_cores_and_are_validated() -> None:
    assert Settings.from_env({}).workers == (os.cpu_count() or 1)
    assert Settings.from_env({"WORKERS": "3"}).workers == 3
    with pytest.raises(ConfigError, match="'WORKERS' must be between 1 and 256, got 0"):
        Settings.from_env({"WORKERS": "0"})


def test_replica_url_is_optional_and_the_former_name_still_works() -> None:
    assert Settings.from_env({}).replica_url is None
    url = "postgresql://replica/db"
    assert Settings.from_env({"DATABASE_REPLICA_URL": url}).replica_url == url
    assert Settings.from_env({"DATABASE_READ_URL": url}).replica_url == url
    both = {"DATABASE_REPLICA_URL": url, "DATABASE_READ_URL": "postgresql://old/db"}
    assert Settings.from_env(both).replica_url == url


@pytest.fixture
async def replica_url(database_url: str, empty_database_url: str, catalogue: Catalogue) -> str:
    """A stand-in replica: the primary's catalogue with the same UUIDs, one name changed so
    that a read shows where it ran."""
    primary = await asyncpg.connect(database_url)
    try:
        ids = await primary.fetch("SELECT slug, id FROM micro_services")
    finally:
        await primary.close()
    await prepare_database(empty_database_url, catalogue)
    conn = await asyncpg.connect(empty_database_url)
    try:
        await conn.execute(
            "UPDATE micro_services m SET id = p.id FROM unnest($1::text[], $2::uuid[]) "
            "AS p(slug, id) WHERE m.slug = p.slug",
            [r["slug"] for r in ids],
            [r["id"] for r in ids],
        )
        await conn.execute(
            "UPDATE micro_services SET name = 'ON REPLICA' WHERE slug = 'wall-painting'"
        )
    finally:
        await conn.close()
    return empty_database_url


async def _jobs(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM jobs"))
    finally:
        await conn.close()


async def test_catalogue_reads_go_to_the_replica_and_jobs_to_the_primary(
    database_url: str, replica_url: str, jobs_writer_key: IssuedKey
) -> None:
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, database_read_url=replica_url
    ) as api:
        one = await api.graphql('{ microService(slug: "wall-painting") { name } }')
        listed = await api.graphql('{ microServices(category: "painting") { slug name } }')
        replica_jobs, primary_jobs = await _jobs(replica_url), await _jobs(database_url)
        published = await api.graphql(
            "mutation($i: PublishJobInput!) { publishJob(input: $i) { job { id } } }",
            {
                "i": {
                    "microId": "wall-painting",
                    "answers": WALL_PAINTING_ANSWERS,
                    "location": EXAMPLE_LOCATION,
                }
            },
            headers=jobs_writer_key.headers,
        )
    assert one["data"]["microService"]["name"] == "ON REPLICA"
    names = {m["slug"]: m["name"] for m in listed["data"]["microServices"]}
    assert names["wall-painting"] == "ON REPLICA"
    assert "errors" not in published
    assert await _jobs(replica_url) == replica_jobs
    assert await _jobs(database_url) == primary_jobs + 1
