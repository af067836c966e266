"""GraphiQL in a real browser: loads with nothing from another host, runs the example, and
sends the API key typed into its headers editor."""

from __future__ import annotations

import json

from playwright.async_api import Request, expect

from tests.browser.conftest import BrowserPage, LiveServer


async def test_graphiql_loads_offline_and_runs_the_example_wizard_questions(
    live_server: LiveServer, open_page: BrowserPage
) -> None:
    page, log = open_page.page, open_page.log
    await page.goto(f"{live_server.url}/graphql")

    run = page.locator(".graphiql-execute-button")
    await expect(run).to_be_visible(timeout=20_000)
    # The example opens in the editor with its variables (Monaco renders the visible lines).
    await expect(page.locator(".graphiql-query-editor")).to_contain_text("query WizardQuestions")
    await expect(page.locator(".graphiql-editor-tool")).to_contain_text('"microId"')
    await expect(page.get_by_role("button", name="Show GraphiQL Explorer")).to_be_visible()

    # Three operations in one document: the run button asks which one.
    await run.click()
    menu = page.get_by_role("menuitem")
    await expect(menu).to_have_text(["Categories", "WizardQuestions", "PublishJob"])
    await page.get_by_role("menuitem", name="WizardQuestions").click()

    result = page.locator(".result-window")
    await expect(result).to_contain_text('"microId": "wall-painting"', timeout=15_000)
    await expect(result).to_contain_text('"microUuid"')
    await open_page.screenshot("graphiql-wizard-questions", full_page=False)

    assert log.urls, "the request log recorded nothing"
    assert log.foreign(live_server.url) == [], "GraphiQL asked another host"
    assert log.failed == []
    assert log.page_errors == []
    assert log.console_errors == []
    # The page really did load its bundle, its editor workers and the schema from us.
    loaded = " ".join(log.urls)
    for asset in ("/static/build/graphiql.js", "/static/build/graphiql.css", ".worker.js"):
        assert asset in loaded


async def test_graphiql_sends_the_api_key_typed_into_its_headers_editor(
    live_server: LiveServer, open_page: BrowserPage, publisher_key: str | None
) -> None:
    key = publisher_key or "browser-test-key"
    page = open_page.page
    await page.goto(f"{live_server.url}/graphql")
    await expect(page.locator(".graphiql-execute-button")).to_be_visible(timeout=20_000)

    await page.get_by_text("Headers", exact=True).click()
    headers_editor = page.locator(".graphiql-editor-tool .graphiql-editor:visible")
    await expect(headers_editor).to_contain_text("Authorization")
    await headers_editor.click()
    await page.keyboard.press("ControlOrMeta+A")
    await page.keyboard.insert_text(json.dumps({"Authorization": f"Bearer {key}"}))
    # Monaco closes brackets and quotes as they are typed: drop what it added after the cursor.
    await page.keyboard.press("ControlOrMeta+Shift+End")
    await page.keyboard.press("Delete")

    def is_categories(request: Request) -> bool:
        body = request.post_data or ""
        return request.method == "POST" and '"operationName":"Categories"' in body.replace(" ", "")

    async with page.expect_request(is_categories) as sent:
        await page.locator(".graphiql-execute-button").click()
        await page.get_by_role("menuitem", name="Categories").click()
    request = await sent.value
    assert request.headers.get("authorization") == f"Bearer {key}"
    assert json.loads(request.post_data or "{}")["operationName"] == "Categories"
    await expect(page.locator(".result-window")).to_contain_text('"painting"', timeout=15_000)
