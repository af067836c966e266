"""The whole-response cache and HTTP caching: what is kept, the bytes served, the headers, and
that a catalogue write reaches the cache through the notice."""

from __future__ import annotations

import gzip
import hashlib
import json
from typing import Any

import asyncpg
import brotli
import httpx
import pytest
import zstandard

from api.http_cache import representation_etag
from tests.support import REDIS_URL, AppHarness, running_app
from tests.support.polling import eventually

TREE = "{ categories { slug name subcategories { slug name microServices { id slug name } } } }"
WIZARD = (
    "query Wizard($path: [String!]!) { wizardQuestions(categories: $path) "
    "{ microId microUuid questions { id label type required options { value label } } } }"
)
PATH = {"path": ["painting", "interior", "wall-painting"]}
CATALOGUE_SQL = "FROM categories"


async def _post(api: AppHarness, query: str, variables: Any = None, **kw: Any) -> httpx.Response:
    response = await api.client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, **kw
    )
    assert response.status_code == 200, response.text
    return response


async def _get(api: AppHarness, query: str, **kw: Any) -> httpx.Response:
    return await api.client.get("/graphql", params={"query": query}, **kw)


async def test_a_cached_answer_is_byte_identical_to_an_uncached_one(database_url: str) -> None:
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, response_cache=False
    ) as plain:
        uncached = [(await _post(plain, q, v)).content for q, v in ((TREE, {}), (WIZARD, PATH))]
    async with running_app(database_url, migrate_on_start=False, seed_on_start=False) as api:
        first = [(await _post(api, q, v)).content for q, v in ((TREE, {}), (WIZARD, PATH))]
        api.statements.clear()
        second = [(await _post(api, q, v)).content for q, v in ((TREE, {}), (WIZARD, PATH))]
        assert api.statements.statements == []  # answered from the cache: no SQL at all
        cache = api.http_state.response_cache
        assert cache is not None
        assert cache.hits == 2
    assert first == uncached
    assert second == uncached
    assert "errors" not in json.loads(second[0])


async def test_an_operation_with_a_private_or_unhinted_field_is_never_kept(
    api: AppHarness,
) -> None:
    job = '{ categories { slug } job(id: "00000000-0000-0000-0000-000000000000") { id } }'
    lookup = '{ microService(slug: "wall-painting") { id } categories { slug } }'
    for query in (job, lookup, "{ alerts { name } }"):
        for _ in range(2):
            response = await _get(api, query)
            assert response.status_code == 200, response.text
            assert response.headers["cache-control"] == "no-store"
            assert "etag" not in response.headers
    cache = api.http_state.response_cache
    assert cache is not None
    assert cache.hits == 0
    api.statements.clear()
    await _post(api, job)
    assert api.statements.matching(CATALOGUE_SQL)  # executed again, not served from a copy


async def test_response_cache_false_executes_every_request(database_url: str) -> None:
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, response_cache=False
    ) as api:
        assert api.http_state.response_cache is None
        await _post(api, TREE)
        api.statements.clear()
        await _post(api, TREE)
        assert api.statements.matching(CATALOGUE_SQL)
        response = await _get(api, TREE)
        assert response.headers["cache-control"] == "no-store"
        assert "etag" not in response.headers


async def test_get_carries_etag_and_cache_control_and_304s_on_if_none_match(
    api: AppHarness,
) -> None:
    first = await _get(api, TREE)
    second = await _get(api, TREE)
    for response in (first, second):
        assert response.status_code == 200
        assert response.headers["cache-control"] == (
            "public, max-age=300, stale-while-revalidate=60"
        )
        assert response.headers["vary"] == "Accept, Accept-Encoding"
    etag = first.headers["etag"]
    assert etag.startswith('"c')
    assert etag == second.headers["etag"]
    assert first.content == second.content
    again = await _get(api, TREE, headers={"If-None-Match": f'W/"other", {etag}'})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"].startswith("public, max-age=300")
    other_type = await _get(
        api, TREE, headers={"If-None-Match": etag, "Accept": "application/graphql-response+json"}
    )
    assert other_type.status_code == 200  # another representation, another validator
    assert other_type.headers["etag"] != etag


async def test_if_none_match_gets_304_only_for_a_kept_answer_never_for_an_error(
    api: AppHarness,
) -> None:
    broken = '{ wizardQuestions(categories: ["no-such-service"]) { microId } }'
    cache = api.http_state.response_cache
    assert cache is not None
    policy = cache.learn(broken, None)
    assert policy.cacheable  # cacheable-looking: only its answer says otherwise
    # The validator such a request would carry, were its answer ever kept.
    lookup = cache.locate(cache.version, broken, None, None, policy)
    forged = representation_etag(lookup.etag, "application/json", None)
    for validator in ("*", forged, f'W/"other", {forged}'):
        response = await _get(api, broken, headers={"If-None-Match": validator})
        assert response.status_code == 200, validator
        assert response.json()["errors"]
        assert response.headers["cache-control"] == "no-store"
    private = "{ lookupStats(windowMinutes: 5) { total } }"
    uncacheable = await _get(api, private, headers={"If-None-Match": "*"})
    assert uncacheable.status_code != 304
    unseen = await _get(api, TREE, headers={"If-None-Match": "*"})
    assert unseen.status_code == 200  # not kept yet: the answer itself, which is kept now
    kept = await _get(api, TREE, headers={"If-None-Match": "*"})
    assert kept.status_code == 304
    assert kept.headers["etag"] == unseen.headers["etag"]


@pytest.mark.parametrize(
    ("encoding", "decode"),
    [
        ("gzip", gzip.decompress),
        ("br", brotli.decompress),
        ("zstd", lambda data: zstandard.ZstdDecompressor().decompress(data)),
    ],
)
async def test_large_answers_are_compressed_when_accepted(
    api: AppHarness, encoding: str, decode: Any
) -> None:
    plain = await _get(api, TREE)
    assert len(plain.content) > 1024
    headers = {"Accept-Encoding": encoding}
    # httpx would decode the body itself: read the raw bytes.
    for _ in range(2):  # the miss that stores, then the hit
        async with api.client.stream(
            "GET", "/graphql", params={"query": TREE}, headers=headers
        ) as r:
            raw = b"".join([chunk async for chunk in r.aiter_raw()])
            assert r.headers["content-encoding"] == encoding
            assert r.headers["etag"].endswith(f'-{encoding}"')
        assert len(raw) < len(plain.content)
        assert decode(raw) == plain.content
    small = await api.client.get("/graphql", params={"query": "{ __typename }"}, headers=headers)
    assert "content-encoding" not in small.headers  # 1 KB or less: sent as is


async def test_a_catalogue_write_reaches_the_cache_through_the_notice(
    empty_database_url: str,
) -> None:
    async with running_app(empty_database_url) as api:
        before = (await _post(api, TREE)).json()
        assert (await _post(api, TREE)).json() == before  # kept
        version = api.http_state.response_cache.version  # type: ignore[union-attr]
        conn = await asyncpg.connect(empty_database_url)
        try:
            await conn.execute("UPDATE categories SET name = 'Renamed' WHERE slug = 'painting'")
        finally:
            await conn.close()
        cache = api.http_state.response_cache
        assert cache is not None
        await eventually(lambda: cache.version != version, what="the catalogue notice")
        after = (await _post(api, TREE)).json()
    names = {c["slug"]: c["name"] for c in after["data"]["categories"]}
    assert names["painting"] == "Renamed"


async def test_without_the_listener_the_cache_is_bypassed(database_url: str) -> None:
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, invalidation_listener=False
    ) as api:
        await _post(api, TREE)
        api.statements.clear()
        await _post(api, TREE)
        assert api.statements.matching(CATALOGUE_SQL)
        assert "etag" not in (await _get(api, TREE)).headers


async def test_workers_share_answers_through_redis(database_url: str, redis_namespace: str) -> None:
    settings = {
        "migrate_on_start": False,
        "seed_on_start": False,
        "redis_url": REDIS_URL,
        "response_cache_namespace": redis_namespace,
        "cache_namespace": f"{redis_namespace}-lookups",
    }
    async with (
        running_app(database_url, **settings) as one,
        running_app(database_url, **settings) as two,
    ):
        first = await _get(one, TREE, headers={"Accept-Encoding": "gzip"})
        two.statements.clear()
        second = await _get(two, TREE, headers={"Accept-Encoding": "gzip"})
        assert two.statements.matching(CATALOGUE_SQL) == []  # the first one's answer
        assert second.content == first.content
        assert second.headers["etag"] == first.headers["etag"]
        assert second.headers["content-encoding"] == "gzip"


async def test_a_persisted_query_over_get_is_cached_like_a_plain_one(api: AppHarness) -> None:
    digest = hashlib.sha256(TREE.encode()).hexdigest()
    extensions = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}})
    registered = await api.client.post(
        "/graphql", json={"query": TREE, "extensions": json.loads(extensions)}
    )
    assert "errors" not in registered.json()
    response = await api.client.get("/graphql", params={"extensions": extensions})
    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("public, max-age=300")
    again = await api.client.get(
        "/graphql",
        params={"extensions": extensions},
        headers={"If-None-Match": response.headers["etag"]},
    )
    assert again.status_code == 304


async def test_health_says_whether_the_process_listens(api: AppHarness) -> None:
    await _post(api, TREE)
    body = (await api.client.get("/health")).json()
    assert body["invalidation"]["listening"] is True
    cache = body["invalidation"]["responseCache"]
    assert cache["catalogueVersion"] >= 1
    assert cache["bytes"] > 0
    assert cache["memoBytes"] >= len(TREE)  # its verdict is remembered


SEARCH = (
    "query Search($text: String!) { searchServices(text: $text) { microService { slug } score } }"
)


async def _get_search(api: AppHarness, text: str) -> httpx.Response:
    params = {"query": SEARCH, "variables": json.dumps({"text": text})}
    response = await api.client.get("/graphql", params=params)
    assert response.status_code == 200, response.text
    return response


async def test_a_search_answer_is_kept_like_the_catalogue(api: AppHarness) -> None:
    first = await _get_search(api, "loo wont flush")
    second = await _get_search(api, "loo wont flush")
    assert first.headers["cache-control"].startswith("public, max-age=300")
    assert first.headers["etag"] == second.headers["etag"]
    assert first.content == second.content
    cache = api.http_state.response_cache
    assert cache is not None
    assert cache.hits == 1
    other = await _get_search(api, "boiler service")
    assert other.headers["etag"] != first.headers["etag"]  # the text is part of the key


async def test_a_search_answered_while_the_model_was_late_is_not_kept(
    database_url: str, request: pytest.FixtureRequest
) -> None:
    cache_dir = getattr(request.config, "cache", None)
    settings: dict[str, Any] = {
        "migrate_on_start": False,
        "seed_on_start": False,
        "search_semantic": True,
        "search_model_budget_ms": 0.001,  # no inference is that quick
        "search_query_cache_size": 0,
    }
    if cache_dir is not None:
        settings["search_cache_dir"] = cache_dir.mkdir("search-vectors")
    async with running_app(database_url, **settings) as api:
        search = api.app_state.search
        assert search is not None
        await search.ready()
        text = "water coming through my kitchen ceiling"  # not settled by keywords alone
        late = await _get_search(api, text)
        assert late.headers["cache-control"] == "no-store"
        assert json.loads(late.content)["data"]["searchServices"]  # still answered
        again = await _get_search(api, text)
        assert again.headers["cache-control"] == "no-store"
        response_cache = api.http_state.response_cache
        assert response_cache is not None
        assert response_cache.hits == 0
