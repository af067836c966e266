"""Test helpers shared by the suites: a real PostgreSQL per run, apps wired to it, and a
recorder of the statements the app's pool actually sent."""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
from asgi_lifespan import LifespanManager

from api.state import HttpState
from app.root import create_app
from config import Settings
from context.state import AppState
from db.migrate import apply_migrations
from db.seed import seed_catalogue
from domain.catalogue import Catalogue

LOOKUP_STATEMENT = "slug = ANY($1::text[])"
# The Redis the tests use; their keys live under namespaces of their own (see resilience.py).
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def error_codes(body: dict[str, Any]) -> list[str]:
    """The `extensions.code` of each error in a GraphQL response body, in order."""
    return [error["extensions"]["code"] for error in body.get("errors", [])]


class StatementRecorder:
    """asyncpg query logger: every statement the app's connections executed, in order."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.ports: list[int | None] = []  # the server port of each statement, aligned

    def __call__(self, record: Any) -> None:
        self.statements.append(record.query)
        address = record.conn_addr
        self.ports.append(address[1] if isinstance(address, tuple) else None)

    def clear(self) -> None:
        self.statements.clear()
        self.ports.clear()

    def on_port(self, port: int) -> list[str]:
        """The statements sent to the server listening on `port` (a replica, say)."""
        return [s for s, p in zip(self.statements, self.ports, strict=True) if p == port]

    def matching(self, fragment: str) -> list[str]:
        return [s for s in self.statements if fragment in s]

    @property
    def lookups(self) -> list[str]:
        return self.matching(LOOKUP_STATEMENT)


def with_database(url: str, database: str) -> str:
    """`url` pointed at another database (works for TCP and unix-socket URLs)."""
    head, sep, query = url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{database}{sep}{query}"


async def create_database(server_url: str, prefix: str = "jw_test") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def prepare_database(url: str, catalogue: Catalogue | None = None) -> None:
    """Migrate the database at `url` to the current schema, then seed `catalogue` when given:
    what a fresh database needs before an app or a query can use it."""
    conn = await asyncpg.connect(url)
    try:
        await apply_migrations(conn)
        if catalogue is not None:
            await seed_catalogue(conn, catalogue)
    finally:
        await conn.close()


async def drop_database(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# `make test` runs the API and HTTP tests twice, the second time with TEST_PLANS=off: every app
# the tests start then answers through the general executor alone, so each test proves the two
# paths give the same answers. A test about plans themselves turns them on by name.
PLANS_OFF = os.environ.get("TEST_PLANS", "on") == "off"
PLAN_SETTINGS = ("compiled_lookups", "compiled_publish", "compiled_search")
PLANS_ON: dict[str, Any] = dict.fromkeys(PLAN_SETTINGS, True)


def test_settings(**overrides: Any) -> Settings:
    """Settings for a test app: `overrides` by setting name; `oidc_issuer` may be the
    `oidc_issuer` fixture itself (its URL is taken)."""
    issuer = overrides.get("oidc_issuer")
    if issuer is not None and not isinstance(issuer, str):
        overrides["oidc_issuer"] = issuer.url
    # Search on keywords only unless a test asks for the model: loading it, and embedding the
    # catalogue the first time, would take cores from tests that time things.
    # The webhook dispatcher only where a test asks for it: the tests share one database.
    defaults: dict[str, Any] = {
        "db_pool_min": 1,
        "db_pool_max": 5,
        "search_semantic": False,
        "webhook_dispatch": False,
    }
    if PLANS_OFF:
        defaults.update(dict.fromkeys(PLAN_SETTINGS, False))
    return Settings.from_env({}).replace(**{**defaults, **overrides})


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@dataclasses.dataclass
class AppHarness:
    client: httpx.AsyncClient
    statements: StatementRecorder
    app: Any
    state: dict[str, Any] = dataclasses.field(default_factory=dict)  # what the lifespan yielded

    @property
    def app_state(self) -> AppState:
        state: AppState = self.state["app_state"]
        return state

    @property
    def http_state(self) -> HttpState:
        state: HttpState = self.state["http_state"]
        return state

    async def ops_graphql(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """`graphql` with an `ops:read` key (issued on first use): the monitoring fields."""
        key = self.state.get("_ops_key")
        if key is None:
            from domain.api_keys import OPS_READ
            from tests.support.keys import issue_api_key

            async with self.app_state.pool.acquire() as conn:
                key = await issue_api_key(conn, name="ops test", scopes=[OPS_READ])
            self.state["_ops_key"] = key
        return await self.graphql(query, variables, headers=key.headers)

    async def graphql(
        self, query: str, variables: dict[str, Any] | None = None, **kw: Any
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, **kw
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@asynccontextmanager
async def running_app(database_url: str, **overrides: Any) -> AsyncIterator[AppHarness]:
    """The real app (lifespan included) on `database_url`, behind an in-process HTTP client."""
    recorder = StatementRecorder()
    app = create_app(
        test_settings(**overrides), database_url=database_url, query_loggers=[recorder]
    )
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            # asgi-lifespan keeps the lifespan's state privately; tests need what it built.
            state: dict[str, Any] = manager._state
            yield AppHarness(client=client, statements=recorder, app=app, state=state)


@asynccontextmanager
async def general_and_planned(
    database_url: str, plans: str, **overrides: Any
) -> AsyncIterator[tuple[AppHarness, AppHarness]]:
    """Two apps on one database, alike but for the compiled plans named by the setting `plans`
    (`compiled_publish`, say): off in the first (graphql-core answers), on in the second."""
    async with (
        running_app(database_url, **{**overrides, plans: False}) as general,
        running_app(database_url, **{**overrides, plans: True}) as planned,
    ):
        yield general, planned
