"""Fixtures: one real PostgreSQL server per run (TEST_DATABASE_URL, else 127.0.0.1:5432, else an
embedded pgserver), a migrated and seeded database of this run's own, dropped at the end."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from config.database import DEFAULT_CATALOGUE_PATH
from domain.catalogue import Catalogue, load_catalogue
from tests.support import (
    AppHarness,
    create_database,
    drop_database,
    prepare_database,
    running_app,
    with_database,
)
from tests.support.identity import TestIssuer, running_issuer
from tests.support.keys import IssuedKey, issue_api_key
from tests.support.proxy import TcpProxy, proxy_to

LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
# Keeps the embedded server (when one is used) alive for the whole run.
_embedded_handles: list[Any] = []


async def _answers(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


@pytest.fixture(scope="session")
def _embedded_dir() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="jw-pg-") as path:
        yield path


@pytest.fixture(scope="session")
async def server_url(_embedded_dir: str) -> str:
    """A maintenance-database URL on the PostgreSQL server the tests use."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        return given
    if await _answers(LOCAL_SERVER):
        return LOCAL_SERVER
    from db.embedded import start_embedded_postgres

    url, handle = start_embedded_postgres(Path(_embedded_dir) / "data")
    _embedded_handles.append(handle)
    return url


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue(DEFAULT_CATALOGUE_PATH)


@pytest.fixture(scope="session")
async def database_url(server_url: str, catalogue: Catalogue) -> AsyncIterator[str]:
    """This run's database, migrated and seeded once; dropped when the run ends."""
    name = await create_database(server_url)
    url = with_database(server_url, name)
    await prepare_database(url, catalogue)
    yield url
    await drop_database(server_url, name)


@pytest.fixture
async def empty_database_url(server_url: str) -> AsyncIterator[str]:
    """A brand-new empty database for one test."""
    name = await create_database(server_url, prefix="jw_empty")
    yield with_database(server_url, name)
    await drop_database(server_url, name)


@pytest.fixture
async def seeded_database_url(empty_database_url: str, catalogue: Catalogue) -> str:
    """A brand-new database for one test, migrated and seeded: for tests that change the
    catalogue or need tables of their own."""
    await prepare_database(empty_database_url, catalogue)
    return empty_database_url


@pytest.fixture(scope="session")
def oidc_issuer() -> Iterator[TestIssuer]:
    """The development OpenID provider on 127.0.0.1 (any free port) for the whole run: an app
    started with `oidc_issuer=oidc_issuer` verifies its tokens; `oidc_issuer.token(subject)`
    signs a customer in (authorization code with PKCE) and returns their access token."""
    with running_issuer() as issuer:
        yield issuer


@pytest.fixture
async def cold_api(database_url: str) -> AsyncIterator[AppHarness]:
    """The app with nothing cached: no warm-up, so its first lookups reach PostgreSQL."""
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, cache_warm_up=False
    ) as harness:
        yield harness


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[AppHarness]:
    """The app on this run's database, migrations and seed skipped (already done)."""
    async with running_app(database_url, migrate_on_start=False, seed_on_start=False) as harness:
        yield harness


@pytest.fixture
async def redis_namespace() -> AsyncIterator[str]:
    """A Redis key prefix of this test's own; its keys are deleted afterwards."""
    from tests.support.resilience import drop_namespace, unique_namespace

    name = unique_namespace()
    yield name
    await drop_namespace(name)


@pytest.fixture
async def make_api_key(database_url: str) -> AsyncIterator[Callable[..., Awaitable[IssuedKey]]]:
    """Issue a real API key (stored hashed, as `create-api-key` does) with the given scopes."""
    conn = await asyncpg.connect(database_url)

    async def issue(*scopes: str, name: str = "test partner") -> IssuedKey:
        return await issue_api_key(conn, name=name, scopes=scopes)

    try:
        yield issue
    finally:
        await conn.close()


@pytest.fixture
async def jobs_writer_key(make_api_key: Callable[..., Awaitable[IssuedKey]]) -> IssuedKey:
    """A key with jobs:write: what publishJob needs."""
    return await make_api_key("jobs:write")


@pytest.fixture
async def pg_proxy(database_url: str) -> AsyncIterator[TcpProxy]:
    """A TCP proxy in front of this run's PostgreSQL: point an app at `pg_proxy.url_for(...)`
    to refuse, stall or cut its connections."""
    async with proxy_to(database_url) as proxy:
        yield proxy
