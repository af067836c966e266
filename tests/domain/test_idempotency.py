"""Idempotent publishJob: one job per (caller, key, input), also under concurrent duplicates."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx

from db.idempotency import delete_idempotency_keys_older_than
from domain.idempotency import request_fingerprint
from tests.support import AppHarness, error_codes
from tests.support.jobs import PUBLISH, publish_input
from tests.support.keys import IssuedKey
from tests.support.live_server import live_server

MakeKey = Callable[..., Awaitable[IssuedKey]]


async def _rows(database_url: str, sql: str, *args: Any) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        count: int = await conn.fetchval(sql, *args)
        return count
    finally:
        await conn.close()


async def _jobs_of(database_url: str, key: IssuedKey) -> int:
    return await _rows(database_url, "SELECT count(*) FROM jobs WHERE api_key_id = $1", key.id)


def _job_id(body: dict[str, Any]) -> str:
    assert "errors" not in body, body
    job_id: str = body["data"]["publishJob"]["job"]["id"]
    return job_id


async def test_same_key_and_input_returns_the_same_job(
    api: AppHarness, jobs_writer_key: IssuedKey, database_url: str
) -> None:
    key = f"order-{uuid.uuid4()}"
    first = await api.graphql(PUBLISH, publish_input(key), headers=jobs_writer_key.headers)
    again = await api.graphql(PUBLISH, publish_input(key), headers=jobs_writer_key.headers)
    assert _job_id(again) == _job_id(first)
    assert await _jobs_of(database_url, jobs_writer_key) == 1


async def test_idempotency_key_header_means_the_same_as_the_input_field(
    api: AppHarness, jobs_writer_key: IssuedKey, database_url: str
) -> None:
    key = f"order-{uuid.uuid4()}"
    by_field = await api.graphql(PUBLISH, publish_input(key), headers=jobs_writer_key.headers)
    by_header = await api.graphql(
        PUBLISH, publish_input(), headers={**jobs_writer_key.headers, "Idempotency-Key": key}
    )
    assert _job_id(by_header) == _job_id(by_field)
    assert await _jobs_of(database_url, jobs_writer_key) == 1
    both_differ = await api.graphql(
        PUBLISH, publish_input("other"), headers={**jobs_writer_key.headers, "Idempotency-Key": key}
    )
    assert error_codes(both_differ) == ["BAD_USER_INPUT"]


async def test_same_key_with_another_input_is_refused_as_reused(
    api: AppHarness, jobs_writer_key: IssuedKey, database_url: str
) -> None:
    key = f"order-{uuid.uuid4()}"
    _job_id(await api.graphql(PUBLISH, publish_input(key), headers=jobs_writer_key.headers))
    other = await api.graphql(
        PUBLISH, publish_input(key, wall_count=5), headers=jobs_writer_key.headers
    )
    assert error_codes(other) == ["BAD_USER_INPUT"]
    assert other["errors"][0]["extensions"]["reason"] == "IDEMPOTENCY_KEY_REUSED"
    assert await _jobs_of(database_url, jobs_writer_key) == 1


async def test_keys_are_scoped_to_the_caller(
    api: AppHarness, make_api_key: MakeKey, database_url: str
) -> None:
    one, two = await make_api_key("jobs:write"), await make_api_key("jobs:write")
    key = f"order-{uuid.uuid4()}"
    first = await api.graphql(PUBLISH, publish_input(key), headers=one.headers)
    second = await api.graphql(PUBLISH, publish_input(key), headers=two.headers)
    assert _job_id(first) != _job_id(second)


async def test_a_rejected_request_stores_nothing_and_can_be_retried_with_its_key(
    api: AppHarness, jobs_writer_key: IssuedKey, database_url: str
) -> None:
    key = f"order-{uuid.uuid4()}"
    bad = await api.graphql(
        PUBLISH, publish_input(key, wall_count=500), headers=jobs_writer_key.headers
    )
    assert error_codes(bad) == ["BAD_USER_INPUT"]
    assert "wall_count" in bad["errors"][0]["extensions"]["fields"]
    assert await _jobs_of(database_url, jobs_writer_key) == 0
    assert (
        await _rows(database_url, "SELECT count(*) FROM idempotency_keys WHERE key = $1", key) == 0
    )
    fixed = await api.graphql(PUBLISH, publish_input(key), headers=jobs_writer_key.headers)
    _job_id(fixed)
    assert await _jobs_of(database_url, jobs_writer_key) == 1


async def test_twenty_concurrent_duplicates_leave_one_job(
    database_url: str, jobs_writer_key: IssuedKey
) -> None:
    key = f"order-{uuid.uuid4()}"
    # A real server on a socket, with enough connections for all 20 to race in the database.
    async with (
        live_server(database_url, db_pool_max=25) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as client,
    ):
        responses = await asyncio.gather(
            *(
                client.post(
                    "/graphql",
                    json={"query": PUBLISH, "variables": publish_input(key)},
                    headers=jobs_writer_key.headers,
                )
                for _ in range(20)
            )
        )
    ids = {_job_id(response.json()) for response in responses}
    assert len(ids) == 1
    assert await _jobs_of(database_url, jobs_writer_key) == 1
    assert (
        await _rows(database_url, "SELECT count(*) FROM idempotency_keys WHERE key = $1", key) == 1
    )


def test_fingerprint_ignores_key_order_but_not_values() -> None:
    assert request_fingerprint("a", {"x": 1, "y": 2}) == request_fingerprint("a", {"y": 2, "x": 1})
    assert request_fingerprint("a", {"x": 1}) != request_fingerprint("a", {"x": 2})
    assert request_fingerprint("a", {"x": 1}) != request_fingerprint("b", {"x": 1})


async def test_purge_deletes_only_keys_older_than_asked(
    api: AppHarness, jobs_writer_key: IssuedKey, database_url: str
) -> None:
    old, fresh = f"old-{uuid.uuid4()}", f"fresh-{uuid.uuid4()}"
    for key in (old, fresh):
        _job_id(await api.graphql(PUBLISH, publish_input(key), headers=jobs_writer_key.headers))
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = $1",
            old,
        )
        deleted = await delete_idempotency_keys_older_than(conn, seconds=24 * 3600)
        left = await conn.fetch(
            "SELECT key FROM idempotency_keys WHERE api_key_id = $1", jobs_writer_key.id
        )
    finally:
        await conn.close()
    assert deleted >= 1
    assert [r["key"] for r in left] == [fresh]
