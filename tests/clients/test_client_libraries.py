"""The client libraries web apps and partners already use, set up as docs/clients.md says and run
against a live server: Apollo Client, urql and graphql-ws under Node (clients.mjs), Python's
`gql`, and graphql-codegen over schema.graphql and every operation in the docs."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport
from gql.utilities import update_schema_scalars
from graphql import GraphQLScalarType

from db.api_keys import revoke_api_key
from tests.support.jobs import EXAMPLE_LOCATION, WALL_PAINTING_ANSWERS
from tests.support.keys import IssuedKey, issue_api_key
from tests.support.live_server import live_server

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / ".clients"
SCRIPT = Path(__file__).with_name("clients.mjs")
DOCS = ROOT / "docs"
CLIENTS_DOC = DOCS / "clients.md"


def _node() -> str:
    node = shutil.which("node")
    assert node is not None, "Node is needed for the client library tests"
    assert (CLIENTS / ".installed").exists(), "run `make clients` to install the client libraries"
    return node


@pytest.fixture(scope="module")
async def base_url(database_url: str) -> AsyncIterator[str]:
    async with live_server(
        database_url, live_interval_seconds=0.2, lookup_events=False, cache_warm_up=False
    ) as url:
        yield url


async def _key(database_url: str, *scopes: str) -> IssuedKey:
    conn = await asyncpg.connect(database_url)
    try:
        return await issue_api_key(conn, name="client libraries", scopes=scopes)
    finally:
        await conn.close()


async def _revoke(database_url: str, key: IssuedKey) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        assert await revoke_api_key(conn, key_id=key.id) is not None
    finally:
        await conn.close()


def _graphcache_embedded() -> list[str]:
    """The types docs/clients.md tells Graphcache to keep inside their parents."""
    block = re.search(r"const embedded = \[(.*?)\]", CLIENTS_DOC.read_text(), re.S)
    assert block is not None, "docs/clients.md lists Graphcache's embedded types"
    return re.findall(r"'(\w+)'", block.group(1))


def test_the_docs_embed_exactly_the_types_without_an_id() -> None:
    sdl = (ROOT / "schema.graphql").read_text()
    types = re.findall(r"^type (\w+)[^{]*\{(.*?)^\}", sdl, re.S | re.M)
    without_id = {
        name
        for name, body in types
        if name not in ("Query", "Mutation", "Subscription")
        and not re.search(r"^\s+id:", body, re.M)
    }
    assert set(_graphcache_embedded()) == without_id


async def test_apollo_urql_and_graphql_ws_as_documented(database_url: str, base_url: str) -> None:
    writer = await _key(database_url, "jobs:write", "ops:read")  # urql subscribes with it too
    watcher = await _key(database_url, "ops:read")
    process = await asyncio.create_subprocess_exec(
        _node(),
        str(_in_clients(SCRIPT)),
        env={
            **os.environ,
            "API_URL": f"{base_url}/graphql",
            "WRITE_KEY": writer.key,
            "OPS_KEY": watcher.key,
            "GRAPHCACHE_EMBEDDED": json.dumps(_graphcache_embedded()),
        },
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    seen: dict[str, Any] = {}
    try:
        async with asyncio.timeout(40):
            while "subscription" not in seen:
                line = await process.stdout.readline()
                if not line:
                    break
                seen.update(json.loads(line))
                if "subscribed" in seen and "revoked" not in seen:
                    await _revoke(database_url, watcher)
                    seen["revoked"] = True
                    process.stdin.write(b"revoked\n")
                    await process.stdin.drain()
            _, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    _check_apollo(seen["apollo"], seen["apolloPublish"])
    _check_urql(seen["urql"])
    _check_subscription(seen["subscribed"], seen["subscription"])


def _in_clients(script: Path) -> Path:
    """Node resolves a script's imports from where the script is: beside .clients/node_modules."""
    target = CLIENTS / script.name
    shutil.copyfile(script, target)
    return target


def _check_apollo(apollo: dict[str, Any], publish: dict[str, Any]) -> None:
    painting = apollo["painting"]["wizardQuestions"]
    papering = apollo["papering"]["wizardQuestions"]
    # The two services share question keys with other content: the cache must keep them apart.
    shared = {q["key"] for q in painting["questions"]} & {q["key"] for q in papering["questions"]}
    assert "wall_count" in shared
    assert apollo["cached"] == apollo["painting"] == apollo["network"]
    assert apollo["again"] == apollo["painting"]
    assert apollo["fromCache"] is True
    # Persisted queries over GET: the hash alone first, the document once (POST), then GETs
    # a CDN can cache, with an ETag the server honours with 304.
    first, stored, *later = apollo["requests"]
    assert (first["method"], first["withQuery"]) == ("GET", False)
    assert (stored["method"], stored["withQuery"]) == ("POST", True)
    assert [(r["method"], r["withQuery"], r["status"]) for r in later] == [("GET", False, 200)]
    [fresh] = apollo["freshRequests"]
    assert (fresh["method"], fresh["withQuery"], fresh["status"]) == ("GET", False, 200)
    assert fresh["etag"]
    assert apollo["revalidated"] == 304
    assert fresh["contentType"].startswith("application/graphql-response+json")

    assert publish["retry"]["id"] == publish["first"]["id"]
    assert publish["reused"] == [
        {
            "code": "BAD_USER_INPUT",
            "reason": "IDEMPOTENCY_KEY_REUSED",
            "fields": {"idempotencyKey": "Already used with a different input; use a new key."},
        }
    ]


def _check_urql(urql: dict[str, Any]) -> None:
    assert urql["wizardError"] is None
    assert urql["wizard"]["wizardQuestions"]["microId"] == "wall-painting"
    assert urql["wrong"] == [{"code": "GRAPHQL_VALIDATION_FAILED"}]
    assert urql["pushed"]["lookupStatsUpdated"]["total"] >= 0
    for request in urql["requests"]:
        assert request["accept"].startswith("application/graphql-response+json")
        assert request["contentType"].startswith("application/graphql-response+json")
    # A document that fails validation is a 4xx under graphql-response+json.
    assert {r["status"] for r in urql["requests"]} == {200, 400}
    graphcache = urql["graphcache"]
    assert graphcache["cached"] == graphcache["painting"]
    assert graphcache["warnings"] == []


def _check_subscription(subscribed: dict[str, Any], ended: dict[str, Any]) -> None:
    assert subscribed["first"]["data"]["lookupStatsUpdated"]["total"] >= 0
    assert ended["code"] == 4403, ended
    assert ended["closedAfterMs"] < 2000, ended
    assert ended["connecting"] == 1, "graphql-ws retried a 4403 the docs say to give up on"


# Keyed by question keys, and one by its id (`Question.id`), as a client may key them.
ANSWERS = {
    **{k: v for k, v in WALL_PAINTING_ANSWERS.items() if k != "wall_count"},
    "wall-painting/wall_count": 3,
}
UUID_SCALAR = GraphQLScalarType("UUID", serialize=str, parse_value=UUID)
DATETIME_SCALAR = GraphQLScalarType(
    "DateTime", serialize=datetime.isoformat, parse_value=datetime.fromisoformat
)


async def test_python_gql_publishes_once_and_parses_the_scalars(
    database_url: str, base_url: str
) -> None:
    writer = await _key(database_url, "jobs:write")
    transport = HTTPXAsyncTransport(url=f"{base_url}/graphql", headers=writer.headers)
    async with Client(transport=transport, fetch_schema_from_transport=True) as session:
        assert session.client.schema is not None
        update_schema_scalars(session.client.schema, [UUID_SCALAR, DATETIME_SCALAR])
        publish = gql(
            "mutation PublishJob($i: PublishJobInput!) "
            "{ publishJob(input: $i) { job { id status createdAt } } }"
        )
        publish.variable_values = {
            "i": {
                "microId": "wall-painting",
                "answers": ANSWERS,
                "location": EXAMPLE_LOCATION,
                "idempotencyKey": f"gql-{writer.id}",
                "customerRef": "c-1",
            }
        }
        first = await session.execute(publish, parse_result=True)
        again = await session.execute(publish, parse_result=True)
        job = first["publishJob"]["job"]
        assert isinstance(job["id"], UUID)
        assert again["publishJob"]["job"]["id"] == job["id"]
        created = job["createdAt"]
        assert isinstance(created, datetime)
        assert created.utcoffset() == timedelta(0)  # aware, in UTC

        publish.variable_values["i"]["customerRef"] = "c-2"
        with pytest.raises(TransportQueryError) as refused:
            await session.execute(publish)
        assert refused.value.errors is not None
        assert refused.value.errors[0]["extensions"]["reason"] == "IDEMPOTENCY_KEY_REUSED"

        read = gql("query Job($id: UUID!) { job(id: $id) { id createdAt answers } }")
        read.variable_values = {"id": job["id"]}  # a UUID, serialised by the scalar's `str`
        found = (await session.execute(read, serialize_variables=True, parse_result=True))["job"]
        assert found["id"] == job["id"]
        assert found["createdAt"] == created
        assert found["answers"] == {**WALL_PAINTING_ANSWERS, "wall_count": 3}  # stored by key


# A ```graphql block in the docs is an operation when it starts with one (the rest is SDL).
OPERATION = re.compile(r"^\s*(query|mutation|subscription)\b|^\s*\{")
# Operations inside the code of docs/clients.md: gql("...") and gql("""...""") in Python,
# `query: '...'` in JavaScript.
EMBEDDED = re.compile(r'gql\(\s*"""(.*?)"""|gql\(\s*"([^"]*)"|query: \'([^\']*)\'', re.S)


def _documented_operations() -> dict[str, str]:
    found: dict[str, str] = {}
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text()
        blocks = re.findall(r"```graphql\n(.*?)```", text, re.S)
        operations = [b for b in blocks if OPERATION.match(re.sub(r"#.*", "", b))]
        if page == CLIENTS_DOC:
            operations += [next(g for g in m if g) for m in EMBEDDED.findall(text)]
        for n, operation in enumerate(operations, 1):
            found[f"{page.stem}-{n}.graphql"] = operation
    return found


async def test_codegen_types_every_documented_operation_with_the_documented_scalars() -> None:
    operations = _documented_operations()
    assert len(operations) >= 8  # the extraction found the docs' operations
    config = re.search(r"```ts\n(// codegen\.ts\n.*?)```", CLIENTS_DOC.read_text(), re.S)
    assert config is not None, "docs/clients.md shows a codegen.ts"
    # Inside .clients so that the config's imports and the preset resolve to its node_modules.
    with tempfile.TemporaryDirectory(dir=CLIENTS, prefix="codegen-") as work:
        project = Path(work)
        (project / "codegen.ts").write_text(config.group(1))
        shutil.copyfile(ROOT / "schema.graphql", project / "schema.graphql")
        (project / "src").mkdir()
        for name, operation in operations.items():
            (project / "src" / name).write_text(operation)
        process = await asyncio.create_subprocess_exec(
            str(CLIENTS / "node_modules" / ".bin" / "graphql-codegen"),
            "--config",
            "codegen.ts",
            cwd=project,
            env={**os.environ, "NO_COLOR": "1"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output = (await asyncio.wait_for(process.communicate(), timeout=60))[0].decode()
        assert process.returncode == 0, output
        assert "skipped" not in output, output  # client-preset skips anonymous operations
        generated = (project / "src" / "gql" / "graphql.ts").read_text()
    for operation in operations.values():
        match = re.match(r"\s*(query|mutation|subscription) (\w+)", operation)
        assert match is not None, f"an operation without a name: {operation}"
        kind, name = match.groups()
        assert f"export type {name}{kind.capitalize()} = " in generated
    # The client preset writes the scalars' types into each operation's: as mapped, not `any`.
    job = (
        "export type JobQuery = { job: { id: string, createdAt: string,"
        " answers: Record<string, unknown> } | null };"
    )
    assert job in generated
    assert "microUuid: string | null" in generated
    assert not re.search(r": any\b", generated)
