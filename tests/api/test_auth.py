"""API keys: who may publish and read jobs, what stays public, and that revocation is immediate
in every worker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from db.api_keys import list_api_keys, revoke_api_key
from domain.api_keys import generate_key
from tests.support import AppHarness, error_codes, running_app
from tests.support.jobs import PUBLISH, READ_JOB, count_jobs, publish_input
from tests.support.keys import IssuedKey
from tests.support.polling import eventually
from tests.support.processes import run_cli
from tests.support.proxy import TcpProxy

MakeKey = Callable[..., Awaitable[IssuedKey]]


async def test_publish_without_a_key_is_unauthenticated_and_stores_nothing(
    api: AppHarness, database_url: str
) -> None:
    before = await count_jobs(database_url)
    body = await api.graphql(PUBLISH, publish_input())
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert await count_jobs(database_url) == before


async def test_publish_with_an_unknown_key_is_unauthenticated(api: AppHarness) -> None:
    body = await api.graphql(
        PUBLISH, publish_input(), headers={"Authorization": "Bearer jw_not-a-real-key"}
    )
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert "not valid" in body["errors"][0]["message"]


async def test_publish_without_jobs_write_is_forbidden(
    api: AppHarness, make_api_key: MakeKey
) -> None:
    reader = await make_api_key("jobs:read")
    body = await api.graphql(PUBLISH, publish_input(), headers=reader.headers)
    assert error_codes(body) == ["FORBIDDEN"]


async def test_publish_with_jobs_write_records_the_publishing_key(
    api: AppHarness, jobs_writer_key: IssuedKey, database_url: str
) -> None:
    body = await api.graphql(PUBLISH, publish_input(), headers=jobs_writer_key.headers)
    assert "errors" not in body, body
    job_id = body["data"]["publishJob"]["job"]["id"]
    conn = await asyncpg.connect(database_url)
    try:
        owner = await conn.fetchval("SELECT api_key_id FROM jobs WHERE id = $1", job_id)
        last_used = await conn.fetchval(
            "SELECT last_used_at FROM api_keys WHERE id = $1", jobs_writer_key.id
        )
    finally:
        await conn.close()
    assert owner == jobs_writer_key.id
    assert last_used is not None


async def test_a_job_is_readable_by_its_publisher_and_by_jobs_read_only(
    api: AppHarness, make_api_key: MakeKey
) -> None:
    publisher = await make_api_key("jobs:write")
    other_writer = await make_api_key("jobs:write")
    reader = await make_api_key("jobs:read")
    published = await api.graphql(PUBLISH, publish_input(), headers=publisher.headers)
    job_id = published["data"]["publishJob"]["job"]["id"]

    own = await api.graphql(READ_JOB, {"id": job_id}, headers=publisher.headers)
    assert own["data"]["job"]["id"] == job_id
    read = await api.graphql(READ_JOB, {"id": job_id}, headers=reader.headers)
    assert read["data"]["job"]["id"] == job_id
    # Another key reads null, as for an id that does not exist: no oracle of which ids do.
    foreign = await api.graphql(READ_JOB, {"id": job_id}, headers=other_writer.headers)
    assert foreign == {"data": {"job": None}}
    anonymous = await api.graphql(READ_JOB, {"id": job_id})
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]


async def test_catalogue_and_wizard_questions_stay_public(api: AppHarness) -> None:
    query = """{
      categories { slug }
      microService(slug: "wall-painting") { id }
      wizardQuestions(categories: ["painting", "interior", "wall-painting"]) { microId }
    }"""
    anonymous = await api.graphql(query)
    assert "errors" not in anonymous, anonymous
    # A bad key does not spoil public fields either: it only matters where a key is needed.
    with_bad_key = await api.graphql(query, headers={"Authorization": "Bearer jw_wrong"})
    assert with_bad_key == anonymous


async def test_a_revoked_key_stops_working_at_once_in_every_worker(
    database_url: str, jobs_writer_key: IssuedKey
) -> None:
    # Two apps with their own pools stand for two worker processes.
    async with (
        running_app(database_url, migrate_on_start=False, seed_on_start=False) as one,
        running_app(database_url, migrate_on_start=False, seed_on_start=False) as two,
    ):
        for worker in (one, two):
            body = await worker.graphql(PUBLISH, publish_input(), headers=jobs_writer_key.headers)
            assert "errors" not in body, body
        caches = [worker.state["app_state"].keys for worker in (one, two)]
        before = [cache.generation for cache in caches]
        conn = await asyncpg.connect(database_url)
        try:
            assert await revoke_api_key(conn, key_id=jobs_writer_key.id) is not None
        finally:
            await conn.close()
        # The notice travels to each worker's listener on its own: "at once" is on its arrival,
        # which a loaded machine may delay by a moment after the revoking commit.
        await eventually(
            lambda: all(c.generation > b for c, b in zip(caches, before, strict=True)),
            what="every worker heard of the revocation",
        )
        for worker in (one, two):
            body = await worker.graphql(PUBLISH, publish_input(), headers=jobs_writer_key.headers)
            assert error_codes(body) == ["UNAUTHENTICATED"]


def _cli(database_url: str, *args: str) -> tuple[int, str, str]:
    done = run_cli(database_url, *args)
    return done.returncode, done.stdout, done.stderr


async def test_key_commands_create_list_and_revoke(database_url: str) -> None:
    code, out, err = await asyncio.to_thread(
        _cli, database_url, "create-api-key", "--name", "acme", "--scope", "jobs:write"
    )
    assert code == 0, err
    key = out.strip().splitlines()[-1]
    assert key.startswith("jw_")

    async with running_app(database_url, migrate_on_start=False, seed_on_start=False) as app:
        headers = {"Authorization": f"Bearer {key}"}
        assert "errors" not in await app.graphql(PUBLISH, publish_input(), headers=headers)

        conn = await asyncpg.connect(database_url)
        try:
            rows = [r for r in await list_api_keys(conn) if r.name == "acme"]
            stored = await conn.fetchval("SELECT count(*) FROM api_keys WHERE key_sha256 = $1", key)
        finally:
            await conn.close()
        assert stored == 0  # the key itself is nowhere in the table
        key_id = str(rows[-1].id)

        code, out, err = await asyncio.to_thread(_cli, database_url, "list-api-keys")
        assert code == 0, err
        assert key_id in out
        assert key not in out

        code, out, err = await asyncio.to_thread(
            _cli, database_url, "revoke-api-key", "--id", key_id
        )
        assert code == 0, err
        body = await app.graphql(PUBLISH, publish_input(), headers=headers)
        assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_create_api_key_refuses_an_unknown_scope(database_url: str) -> None:
    code, _out, err = await asyncio.to_thread(
        _cli, database_url, "create-api-key", "--name", "x", "--scope", "jobs:delete"
    )
    assert code == 2
    assert "jobs:delete" in err


async def test_keys_that_cannot_be_checked_give_service_unavailable(
    database_url: str, pg_proxy: TcpProxy, jobs_writer_key: IssuedKey
) -> None:
    before = await count_jobs(database_url)
    async with running_app(
        pg_proxy.url_for(database_url), migrate_on_start=False, seed_on_start=False
    ) as api:
        await pg_proxy.refuse()  # the database is out for this app alone
        body = await api.graphql(PUBLISH, publish_input(), headers=jobs_writer_key.headers)
        await pg_proxy.restore()  # back before the app stops, so it stops as it usually does
    assert error_codes(body) == ["SERVICE_UNAVAILABLE"]
    assert "API keys cannot be checked" in body["errors"][0]["message"]
    assert await count_jobs(database_url) == before


async def test_a_request_checks_its_key_once_however_many_fields_need_it(
    api: AppHarness, jobs_writer_key: IssuedKey, make_api_key: MakeKey
) -> None:
    published = await api.graphql(PUBLISH, publish_input(), headers=jobs_writer_key.headers)
    job_id = published["data"]["publishJob"]["job"]["id"]
    heard = api.state["invalidation"].notices
    reader = await make_api_key("jobs:read")  # not seen yet: not in the key cache
    # Its creation is announced too (it clears a remembered "unknown"); let that arrive first.
    await eventually(lambda: api.state["invalidation"].notices > heard, what="the key's notice")
    fields = " ".join(f'j{i}: job(id: "{job_id}") {{ id }}' for i in range(5))
    api.statements.clear()
    body = await api.graphql(f"{{ {fields} }}", headers=reader.headers)
    assert "errors" not in body, body
    assert len(api.statements.matching("FROM api_keys")) == 1
    # The next request of that key is answered from the key cache.
    api.statements.clear()
    body = await api.graphql(f"{{ {fields} }}", headers=reader.headers)
    assert "errors" not in body, body
    assert api.statements.matching("FROM api_keys") == []


async def test_an_unknown_key_repeated_costs_one_query(api: AppHarness) -> None:
    bad = {"Authorization": f"Bearer {generate_key()}"}  # the shape of ours, but never issued
    api.statements.clear()
    for _ in range(10):
        body = await api.graphql(PUBLISH, publish_input(), headers=bad)
        assert error_codes(body) == ["UNAUTHENTICATED"]
    assert len(api.statements.matching("FROM api_keys")) == 1


async def test_tokens_not_shaped_like_our_keys_cost_no_query(api: AppHarness) -> None:
    api.statements.clear()
    for token in ("jw_short", "not-ours-at-all", "jw_" + "x" * 42 + "!", "JW_" + "a" * 43):
        body = await api.graphql(
            PUBLISH, publish_input(), headers={"Authorization": f"Bearer {token}"}
        )
        assert error_codes(body) == ["UNAUTHENTICATED"]
    assert api.statements.matching("FROM api_keys") == []


async def test_without_the_listener_every_request_checks_its_key(
    database_url: str, jobs_writer_key: IssuedKey
) -> None:
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, invalidation_listener=False
    ) as api:
        for _ in range(3):
            body = await api.graphql(PUBLISH, publish_input(), headers=jobs_writer_key.headers)
            assert "errors" not in body, body
        assert len(api.statements.matching("FROM api_keys")) == 3


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic {key}",  # a valid key, under another scheme
        "Token {key}",
        "{key}",  # a bare key, no scheme
        "Bearer",  # the scheme without a key
        "Bearer {key}" + "a" * 300,  # longer than any key of ours
        "Bearer " + "x" * 8_000,
    ],
)
async def test_a_header_that_cannot_hold_one_of_our_keys_is_unauthenticated_without_a_query(
    api: AppHarness, jobs_writer_key: IssuedKey, authorization: str
) -> None:
    api.statements.clear()
    header = {"Authorization": authorization.format(key=jobs_writer_key.key)}
    body = await api.graphql(PUBLISH, publish_input(), headers=header)
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert api.statements.matching("api_keys") == []
    assert api.statements.matching("INSERT INTO jobs") == []
