"""The lookup dashboard (/dashboard) in a real browser, after real traffic.

It reads `lookupStats`, `lookupTimeline` and `alerts` from the API and the breaker from
/health."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from playwright.async_api import Page, Route, expect

from tests.browser.axe import doc_screenshot, serious_violations
from tests.browser.conftest import BrowserPage, LiveServer
from tests.support.keys import issue_api_key
from tests.support.polling import eventually

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

    await eventually(alert_firing, timeout=15, interval=0.25)

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


async def test_axis_labels_stay_distinct_and_readable_for_small_values(
    live_server: LiveServer, open_page: BrowserPage
) -> None:
    """A 0.02 ms average and one lookup a minute (0.017/s) once read "0 ms, 0 ms, 0 ms" and
    "0.01, 0.01, 0.01": every label of an axis must differ, and the top one reach the data."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    timeline = [
        {
            "bucketStart": (now - timedelta(minutes=59 - i)).isoformat(),
            "total": 1,
            "avgLatencyMs": 0.02,
            "p95LatencyMs": 0.023,
            "successRate": 1.0,
            "fallbackRate": 0.0,
            "cacheHitRate": 1.0,
        }
        for i in range(60)
    ]
    data = {
        "lookupStats": {
            "windowMinutes": 60,
            "total": 60,
            "avgLatencyMs": 0.02,
            "p95LatencyMs": 0.023,
            "successRate": 1.0,
            "fallbackRate": 0.0,
            "cacheHitRate": 1.0,
        },
        "lookupTimeline": timeline,
        "alerts": [],
    }

    async def small_figures(route: Route) -> None:
        await route.fulfill(json={"data": data})

    page = open_page.page
    await page.route("**/graphql", small_figures)
    await page.goto(f"{live_server.url}/dashboard")
    for chart, top in (("#chart-latency", 0.023), ("#chart-events", 1 / 60)):
        await expect(page.locator(f"{chart} svg")).to_be_visible()
        labels = await page.locator(f"{chart} text.axis-label").all_text_contents()
        y_labels = labels[:5]  # drawn first, bottom to top; then the time axis
        assert len(set(y_labels)) == 5, y_labels
        values = [float(label.split()[0]) for label in y_labels]
        assert values == sorted(values)
        assert values[0] == 0
        assert values[-1] >= top
        assert values[-1] <= 4 * top  # the axis fits the data rather than 0..1
    await open_page.screenshot("dashboard-small-values")


async def test_the_dashboard_is_pushed_live_over_a_websocket(
    live_server: LiveServer, open_page: BrowserPage
) -> None:
    page, log = open_page.page, open_page.log
    await page.goto(f"{live_server.url}/dashboard")
    await _enter_key(page, await _ops_key(live_server))
    updated = page.locator("#updated")
    await expect(updated).to_have_attribute("data-mode", "live", timeout=10_000)
    await expect(updated).to_contain_text("live")
    # New lookups reach the tiles by a push, well before the 30 s poll of live mode.
    before = await page.locator("#tiles .tile .value").first.inner_text()
    await _record_slow_failed_lookups(live_server)
    await expect(page.locator("#tiles .tile .value").first).not_to_have_text(before, timeout=8_000)
    assert log.page_errors == []
    assert log.console_errors == []


async def test_without_websockets_the_dashboard_polls(
    live_server: LiveServer, open_page: BrowserPage
) -> None:
    page, log = open_page.page, open_page.log
    # A proxy or browser that blocks WebSockets, as far as the page can tell.
    await page.add_init_script("window.WebSocket = undefined;")
    await page.goto(f"{live_server.url}/dashboard")
    await _enter_key(page, await _ops_key(live_server))
    updated = page.locator("#updated")
    await expect(updated).to_have_attribute("data-mode", "polling")
    await expect(updated).to_contain_text("polling every 5 s")
    stamp = await updated.inner_text()
    await expect(updated).not_to_have_text(stamp, timeout=12_000)
    await expect(page.locator("#chart-latency")).to_be_visible()
    assert log.page_errors == []


async def test_an_ops_key_acknowledges_and_silences_alerts_from_the_dashboard(
    live_server: LiveServer, open_page: BrowserPage
) -> None:
    conn = await asyncpg.connect(live_server.database_url)
    try:
        key = await issue_api_key(conn, name="on call", scopes=["ops:read", "ops:write"])
    finally:
        await conn.close()
    await _record_slow_failed_lookups(live_server)

    page, log = open_page.page, open_page.log
    await page.goto(f"{live_server.url}/dashboard")
    await _enter_key(page, key.key)
    alert = page.locator('#alerts li[data-name="low_success_rate"]')
    await expect(alert).to_be_visible(timeout=10_000)
    await expect(page.locator("#history li.FIRING").first).to_be_visible(timeout=10_000)
    await page.fill("#alert-note", "looking at the database")
    await alert.locator("button.acknowledge").click()
    await expect(alert.locator(".mark.acknowledged")).to_contain_text(
        "looking at the database", timeout=10_000
    )
    await alert.locator("button.silence").click()
    await expect(alert.locator(".mark.silenced")).to_be_visible(timeout=10_000)
    await expect(alert).to_be_visible()  # silenced alerts still show, marked
    await open_page.screenshot("dashboard-alert-management")
    assert log.page_errors == []
    assert log.console_errors == []


async def test_without_a_key_it_says_what_it_needs_and_is_not_live(
    live_server: LiveServer, open_page: BrowserPage
) -> None:
    page, log = open_page.page, open_page.log
    await page.goto(f"{live_server.url}/dashboard")
    updated = page.locator("#updated")
    await expect(updated).to_have_attribute("data-mode", "waiting")
    await expect(updated).to_contain_text("ops:read")
    await expect(page.locator("#alerts")).to_contain_text("ops:read")
    await expect(page.locator("#history")).to_contain_text("ops:read")
    # The refused subscriptions (an `error` message each) leave it polling, never "live".
    await expect(updated).not_to_contain_text("live")
    assert await page.locator("#forget-key").is_hidden()
    assert await serious_violations(page) == []
    assert log.page_errors == []


async def test_the_business_view_shows_what_customers_met(
    live_server: LiveServer, open_page: BrowserPage
) -> None:
    conn = await asyncpg.connect(live_server.database_url)
    try:
        key = await issue_api_key(conn, name="ops and jobs", scopes=["ops:read", "jobs:write"])
    finally:
        await conn.close()
    headers = {"Authorization": f"Bearer {key.key}"}
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10, headers=headers) as client:
        refused = await client.post(
            "/graphql",
            json={
                "query": "mutation($i: PublishJobInput!) { publishJob(input: $i) { job { id } } }",
                "variables": {
                    "i": {
                        "microId": "wall-painting",
                        "answers": {"wall_count": -1},
                        "location": {"postcode": "SW1A 1AA"},
                    }
                },
            },
        )
        assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        upload = await client.post("/uploads", files={"file": ("a.jpg", b"nope", "image/jpeg")})
        assert upload.status_code == 415
        search = await client.post(
            "/graphql", json={"query": '{ searchServices(text: "qwplk zzqx") { score } }'}
        )
        assert search.json()["data"]["searchServices"] == []

    page, log = open_page.page, open_page.log
    await page.goto(f"{live_server.url}/dashboard")
    await _enter_key(page, key.key)
    # Counts reach the database within a flush interval; the page polls or is pushed.
    await expect(page.locator("#rejected-fields")).to_contain_text("wall_count", timeout=15_000)
    await expect(page.locator("#uploads-refused")).to_contain_text("UNSUPPORTED_IMAGE_FORMAT")
    await expect(page.locator("#unmatched-searches")).to_contain_text("qwplk zzqx", timeout=15_000)
    await expect(page.locator("#business-tiles")).to_contain_text("Webhooks waiting")
    assert await serious_violations(page) == []
    await page.set_viewport_size({"width": 1280, "height": 900})
    await doc_screenshot(page, "desktop-dashboard")
    assert log.page_errors == []
    assert log.console_errors == []
