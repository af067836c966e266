import asyncio

from tests.outage import database_outage
from tests.support import AppHarness, running_app


async def test_health_is_200_with_database_breaker_cache_and_event_buffer(api: AppHarness) -> None:
    response = await api.client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"reachable": True}
    assert body["catalogue"]["microServices"] > 0
    assert body["breaker"] == {"state": "closed"}
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
    async with running_app(empty_database_url, db_command_timeout=2.0) as api:
        async with database_outage(server_url, empty_database_url):
            response = await asyncio.wait_for(api.client.get("/health"), 10)
            assert response.status_code == 503
            body = response.json()
            assert body["status"] == "unavailable"
            assert body["database"]["reachable"] is False
            assert "events" in body  # the rest of the report still comes
        response = await api.client.get("/health")
        assert response.status_code == 200
