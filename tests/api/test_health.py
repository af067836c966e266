"""GET /health: database, breaker state, cache backend and reachability, 200/503 semantics."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support import REDIS_URL, AppHarness, running_app
from tests.support.outage import database_outage
from tests.support.proxy import TcpProxy, proxy_to

BASE: dict[str, Any] = {"migrate_on_start": False, "seed_on_start": False}


async def test_health_reports_breaker_and_cache_when_all_is_well(database_url: str) -> None:
    async with running_app(database_url, **BASE) as api:
        response = await api.client.get("/health")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok"
        assert body["database"] == {"reachable": True}
        assert body["breaker"] == {"state": "closed", "failures": 0}
        assert body["cache"]["backend"] == "memory"
        assert body["cache"]["entries"] == body["catalogue"]["microServices"]  # warmed
        assert body["search"] == {"ranking": "keywords"}  # the model is off in tests


async def test_health_says_when_search_ranks_with_the_model(
    database_url: str, request: pytest.FixtureRequest
) -> None:
    cache = getattr(request.config, "cache", None)
    folder = cache.mkdir("search-vectors") if cache is not None else None
    settings = {**BASE, "search_semantic": True}
    if folder is not None:
        settings["search_cache_dir"] = folder
    async with running_app(database_url, **settings) as api:
        search = api.app_state.search
        assert search is not None
        await search.ready()
        body = (await api.client.get("/health")).json()
        assert body["search"] == {"ranking": "hybrid"}


async def test_health_with_redis_reports_its_reachability(
    database_url: str, redis_namespace: str
) -> None:
    async with proxy_to(REDIS_URL) as redis_proxy:
        url = redis_proxy.url_for(REDIS_URL)
        async with running_app(
            database_url, redis_url=url, cache_namespace=redis_namespace, **BASE
        ) as api:
            body = (await api.client.get("/health")).json()
            assert body["cache"]["backend"] == "memory+redis"
            assert body["cache"]["redis"]["reachable"] is True
            await redis_proxy.refuse()
            response = await api.client.get("/health")
            assert response.status_code == 200  # Redis is optional
            assert response.json()["cache"]["redis"]["reachable"] is False


async def test_database_down_with_a_warm_cache_is_degraded_not_unavailable(
    database_url: str, pg_proxy: TcpProxy
) -> None:
    async with running_app(pg_proxy.url_for(database_url), **BASE) as api:
        await pg_proxy.refuse()
        response = await api.client.get("/health")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "degraded"
        assert body["database"]["reachable"] is False
        await pg_proxy.restore()  # back before the app stops, so it stops as it usually does


async def test_database_down_with_a_cold_cache_is_unavailable(
    database_url: str, pg_proxy: TcpProxy
) -> None:
    async with running_app(
        pg_proxy.url_for(database_url), cache_warm_up=False, breaker_fail_max=1, **BASE
    ) as api:
        await pg_proxy.refuse()
        await api.graphql('query { microService(slug: "wall-painting") { id } }')
        response = await api.client.get("/health")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable"
        assert body["breaker"]["state"] == "open"
        await pg_proxy.restore()  # back before the app stops, so it stops as it usually does


async def test_health_is_200_with_database_breaker_cache_and_event_buffer(api: AppHarness) -> None:
    response = await api.client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"reachable": True}
    assert body["catalogue"]["microServices"] > 0
    assert body["breaker"]["state"] == "closed"
    assert body["cache"]["backend"]
    events = body["events"]
    assert events["enabled"] is True
    assert events["capacity"] == 10_000
    assert 0 <= events["fill"] <= 1
    assert events["dropped"] == 0


async def test_health_reports_the_event_buffer_filling(empty_database_url: str) -> None:
    async with running_app(empty_database_url, event_flush_interval=30.0) as api:
        await api.graphql('{ microServices(slugs: ["wall-painting", "nope"]) { id } }')
        events = (await api.client.get("/health")).json()["events"]
    assert events["buffered"] == 2
    assert events["fill"] == 2 / 10_000


async def test_health_is_503_when_the_database_is_unreachable(
    empty_database_url: str, server_url: str
) -> None:
    # A cold cache: with a warm one the server would answer "degraded" (200) instead.
    async with running_app(empty_database_url, db_command_timeout=2.0, cache_warm_up=False) as api:
        async with database_outage(server_url, empty_database_url):
            response = await asyncio.wait_for(api.client.get("/health"), 10)
            assert response.status_code == 503
            body = response.json()
            assert body["status"] == "unavailable"
            assert body["database"]["reachable"] is False
            assert "events" in body  # the rest of the report still comes
        response = await api.client.get("/health")
        assert response.status_code == 200
