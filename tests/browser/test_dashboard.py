"""The lookup dashboard (/dashboard) in a real browser, after real traffic.

It reads `lookupStats`, `lookupTimeline` and `alerts` from the API and the breaker from
/health."""

from __future__ import annotations

import json

import asyncpg
import httpx
from playwright.async_api import Page, expect

from tests.browser.conftest import BrowserPage, LiveServer, eventually
from tests.support.keys import issue_api_key

# A lookup that takes 500 ms and fails: 40 of them push the hour's success rate under 90 %
# (CRITICAL) and its average latency over 100 ms (WARNING) at the default thresholds.
SLOW_FAILED_LOOKUPS = 40


async def _generate_lookups(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        for slug in ["wall-painting", "wall-painting", "no-such-service"] * 5:
            response = await client.post(
                "/graphql",
                json={
                    "query": "query($p: [String!]!) "
                    "{ wizardQuestions(categories: $p) { microId } }",
                    "variables": {"p": ["painting", "interior", slug]},
                },
            )
            assert response.status_code == 200


async def _record_slow_failed_lookups(server: LiveServer) -> None:
    # A failing, slow database cannot be had on demand in a browser test, so the events such
    # lookups would log are written as the event logger writes them.
    properties = {
        "slug": "wall-painting",
        "uuid": None,
        "lookup_time_ms": 500.0,
        "cache_hit": False,
        "success": False,
        "fallback_used": True,
        "error": "ConnectionRefusedError",
    }
    conn = await asyncpg.connect(server.database_url)
    try:
        await conn.executemany(
            "INSERT INTO analytics_events (event_name, event_properties, created_at) "
            "VALUES ('uuid_lookup', $1::jsonb, now())",
            [(json.dumps(properties),)] * SLOW_FAILED_LOOKUPS,
        )
    finally:
        await conn.close()


async def _ops_key(server: LiveServer) -> str:
    conn = await asyncpg.connect(server.database_url)
    try:
        return (await issue_api_key(conn, name="dashboard", scopes=["ops:read"])).key
    finally:
        await conn.close()


async def _graphql(server: LiveServer, query: str, key: str) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        response = await client.post(
            "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {key}"}
        )
        body: dict[str, object] = response.json()
        return body


async def _enter_key(page: Page, key: str) -> None:
    await page.locator("#api-key").fill(key)
    await page.locator("#api-key-form button").click()


async def test_dashboard_charts_lookups_and_shows_the_firing_alert(
    live_server: LiveServer, open_page: BrowserPage
) -> None:
    await _generate_lookups(live_server)
    await _record_slow_failed_lookups(live_server)
    key = await _ops_key(live_server)

    async def alert_firing() -> bool:
        body = await _graphql(live_server, "{ alerts { severity } lookupStats { total } }", key)
        data = body.get("data") or {}
        assert isinstance(data, dict)
        return bool(data.get("alerts")) and data["lookupStats"]["total"] > SLOW_FAILED_LOOKUPS

    await eventually(alert_firing, within=15)

    page, log = open_page.page, open_page.log
    await page.goto(f"{live_server.url}/dashboard")
    await _enter_key(page, key)
    for chart in ("#chart-latency", "#chart-events", "#chart-success", "#chart-cache"):
        await expect(page.locator(chart)).to_be_visible()
        points = await page.locator(chart).get_attribute("data-points")
        assert points is not None
        assert int(points) > 0, f"{chart} drew no data"
    await expect(page.locator("#alerts li.CRITICAL")).to_be_visible()
    await expect(page.locator("#tiles")).to_contain_text("Circuit breaker")
    await expect(page.locator("#problem")).to_be_hidden()
    await open_page.screenshot("dashboard-laptop")

    # It refreshes by itself every few seconds.
    stamp = await page.locator("#updated").inner_text()
    await expect(page.locator("#updated")).not_to_have_text(stamp, timeout=12_000)

    # On a phone: the charts are redrawn for the narrow screen at the next refresh.
    await page.set_viewport_size({"width": 390, "height": 844})
    stamp = await page.locator("#updated").inner_text()
    await expect(page.locator("#updated")).not_to_have_text(stamp, timeout=12_000)
    await open_page.screenshot("dashboard-phone")

    assert log.foreign(live_server.url) == []
    assert log.page_errors == []
    assert log.console_errors == []


async def test_dashboard_loads_from_this_server_alone_and_refreshes(
    live_server: LiveServer, open_page: BrowserPage
) -> None:
    page, log = open_page.page, open_page.log
    await page.goto(f"{live_server.url}/dashboard")
    # Without a key it says what it needs; with one it shows the figures.
    await expect(page.locator("#problem")).to_contain_text("ops:read")
    await _enter_key(page, await _ops_key(live_server))
    await expect(page.locator("#problem")).to_be_hidden()
    # The key is kept: a reload does not ask again.
    await page.reload()
    await expect(page.locator("#api-key")).not_to_have_value("")
    updated = page.locator("#updated")
    await expect(updated).to_contain_text("Updated")
    stamp = await updated.inner_text()
    await expect(updated).not_to_have_text(stamp, timeout=12_000)
    assert log.foreign(live_server.url) == []
    assert log.page_errors == []
    assert log.console_errors == []
