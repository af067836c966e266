"""Apollo automatic persisted queries: miss, registration, hit (GET and POST), wrong hash, and
sharing between workers through Redis."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as redis

from tests.support import PLANS_ON, REDIS_URL, AppHarness, running_app


def _sha(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def _apq(sha256: str, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha256}}


def _unique_query() -> str:
    # A fresh document each time, so that no earlier test (or run) registered it.
    return f'query Q{uuid.uuid4().hex} {{ microService(slug: "wall-painting") {{ slug }} }}'


async def _get(app: AppHarness, sha256: str, **headers: str) -> Any:
    return await app.client.get(
        "/graphql", params={"extensions": json.dumps(_apq(sha256))}, headers=headers
    )


def _code(body: dict[str, Any]) -> str:
    code: str = body["errors"][0]["extensions"]["code"]
    return code


async def test_a_miss_asks_for_the_query_and_is_not_cacheable(api: AppHarness) -> None:
    response = await _get(api, _sha(_unique_query()))
    assert response.status_code == 200
    assert response.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert _code(response.json()) == "PERSISTED_QUERY_NOT_FOUND"
    assert response.headers["cache-control"] == "no-store"
    strict = await _get(api, _sha(_unique_query()), accept="application/graphql-response+json")
    assert strict.status_code == 400
    assert _code(strict.json()) == "PERSISTED_QUERY_NOT_FOUND"


async def test_registered_query_is_served_by_hash_over_get_and_post(api: AppHarness) -> None:
    query = _unique_query()
    sha256 = _sha(query)
    registered = await api.client.post(
        "/graphql", json={"query": query, "extensions": _apq(sha256)}
    )
    expected = {"data": {"microService": {"slug": "wall-painting"}}}
    assert registered.json() == expected
    by_get = await _get(api, sha256)
    assert by_get.status_code == 200
    assert by_get.json() == expected
    by_post = await api.client.post("/graphql", json={"extensions": _apq(sha256)})
    assert by_post.json() == expected


async def test_a_wrong_hash_is_refused_and_not_registered(api: AppHarness) -> None:
    query = _unique_query()
    wrong = _sha(_unique_query())
    response = await api.client.post("/graphql", json={"query": query, "extensions": _apq(wrong)})
    assert response.status_code == 400
    assert _code(response.json()) == "PERSISTED_QUERY_HASH_MISMATCH"
    assert _code((await _get(api, wrong)).json()) == "PERSISTED_QUERY_NOT_FOUND"


async def test_an_invalid_document_is_not_registered(api: AppHarness) -> None:
    query = f"query Q{uuid.uuid4().hex} {{ noSuchField }}"
    sha256 = _sha(query)
    await api.client.post("/graphql", json={"query": query, "extensions": _apq(sha256)})
    assert _code((await _get(api, sha256)).json()) == "PERSISTED_QUERY_NOT_FOUND"


async def test_an_unknown_protocol_version_is_refused(api: AppHarness) -> None:
    response = await api.client.post("/graphql", json={"extensions": _apq("0" * 64, version=2)})
    assert response.status_code == 400
    assert _code(response.json()) == "PERSISTED_QUERY_NOT_SUPPORTED"


async def test_a_mutation_by_hash_over_get_is_405(api: AppHarness) -> None:
    mutation = (
        f"mutation M{uuid.uuid4().hex} "
        '{ publishJob(input: {microId: "x", answers: {}, location: {postcode: "M1 1AE"}}) '
        "{ job { id } } }"
    )
    sha256 = _sha(mutation)
    await api.client.post("/graphql", json={"query": mutation, "extensions": _apq(sha256)})
    response = await _get(api, sha256)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A per-run key prefix in the shared Redis; only our own keys are deleted afterwards."""
    prefix = f"jw-test-{uuid.uuid4().hex}:apq:"
    yield prefix
    client = redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def test_queries_registered_in_one_worker_are_served_by_another_through_redis(
    database_url: str, redis_prefix: str
) -> None:
    options: dict[str, Any] = {
        "migrate_on_start": False,
        "seed_on_start": False,
        "redis_url": REDIS_URL,
        "persisted_query_prefix": redis_prefix,
    }
    query = _unique_query()
    sha256 = _sha(query)
    async with (
        running_app(database_url, **options) as one,
        running_app(database_url, **options) as two,
    ):
        assert _code((await _get(two, sha256)).json()) == "PERSISTED_QUERY_NOT_FOUND"
        await one.client.post("/graphql", json={"query": query, "extensions": _apq(sha256)})
        hit = await _get(two, sha256)
        assert hit.json() == {"data": {"microService": {"slug": "wall-painting"}}}
    client = redis.from_url(REDIS_URL)
    try:
        assert await client.get(f"{redis_prefix}{sha256}") == query.encode()
    finally:
        await client.aclose()


async def test_the_in_process_store_is_bounded_least_recently_used_out(database_url: str) -> None:
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, persisted_query_max_entries=2
    ) as api:
        queries = [_unique_query() for _ in range(3)]
        for query in queries:
            await api.client.post(
                "/graphql", json={"query": query, "extensions": _apq(_sha(query))}
            )
        oldest, *newest = queries
        assert (await _get(api, _sha(oldest))).json()["errors"][0]["message"] == (
            "PersistedQueryNotFound"
        )
        for query in newest:
            assert "errors" not in (await _get(api, _sha(query))).json()


async def test_a_document_a_compiled_plan_answers_is_still_registered(database_url: str) -> None:
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, **PLANS_ON
    ) as api:
        await _registered_although_a_plan_answers(api)


async def _registered_although_a_plan_answers(api: AppHarness) -> None:
    query = _unique_query()
    # Answered once by the general path, the document gets a compiled plan...
    assert "errors" not in (await api.client.post("/graphql", json={"query": query})).json()
    assert api.http_state.plans.get(query, None) is not None
    # ...which then answers the registration: the store must still keep the document.
    registered = await api.client.post(
        "/graphql", json={"query": query, "extensions": _apq(_sha(query))}
    )
    assert registered.json() == {"data": {"microService": {"slug": "wall-painting"}}}
    hit = await _get(api, _sha(query))
    assert hit.json() == {"data": {"microService": {"slug": "wall-painting"}}}


async def test_a_hung_redis_costs_one_redis_timeout_not_one_per_request(
    database_url: str,
) -> None:
    from tests.support.proxy import proxy_to

    async with proxy_to(REDIS_URL) as proxy:
        proxy.mode = "stall"  # connects, never answers: a paused or wedged Redis
        async with running_app(
            database_url,
            migrate_on_start=False,
            seed_on_start=False,
            cache_warm_up=False,
            redis_url=proxy.url_for(REDIS_URL),
            cache_redis_timeout_ms=100,
        ) as api:
            started = time.perf_counter()
            for _ in range(5):
                response = await _get(api, _sha(_unique_query()))
                assert _code(response.json()) == "PERSISTED_QUERY_NOT_FOUND"
            elapsed = time.perf_counter() - started
            proxy.cut()
    # redis-py waits on a silent socket for ever by default; CACHE_REDIS_TIMEOUT_MS bounds the
    # first call, and Redis is skipped after it.
    assert elapsed < 1.5, elapsed
