"""The reference wizard (/post) clicked through in a real browser, as a person would."""

from __future__ import annotations

import json
import re
import uuid

import asyncpg
from playwright.async_api import Page, expect

from tests.browser.conftest import BrowserPage, LiveServer


async def _choose_wall_painting(page: Page) -> None:
    await page.get_by_label("Category", exact=True).select_option("painting")
    await page.get_by_label("Subcategory").select_option("interior")
    await page.get_by_label("Service", exact=True).select_option("wall-painting")
    await expect(page.locator("#questions-form")).to_be_visible()


async def _answer_required_questions(page: Page, wall_count: str) -> None:
    """Every required answer of wall-painting, through the input its type gets."""
    await page.get_by_label("Which room are the walls in?").select_option(label="Bedroom")
    await page.get_by_label("How many walls need painting?").fill(wall_count)
    await page.get_by_label("What condition are the walls in?").select_option("good")
    await page.locator("#field-paint_supplied").get_by_label("No").check()
    await page.get_by_label("What type of property is it?").select_option("flat_apartment")
    await page.locator("#field-floor_level").get_by_label("First floor").check()
    await page.locator("#field-parking").get_by_label("Free street parking").check()
    await page.get_by_label("When would you like the work to start?").select_option(
        "within_a_month"
    )
    await page.get_by_label("What's your rough budget?").select_option("from_250_to_500")
    await page.get_by_label("Postcode of the job").fill("SW1A 1AA")


async def test_wizard_shows_the_field_error_then_publishes_a_wall_painting_job(
    live_server: LiveServer, open_page: BrowserPage, publisher_key: str | None
) -> None:
    page, log = open_page.page, open_page.log
    await page.goto(f"{live_server.url}/post")
    if publisher_key is not None:  # a server with API keys: enter one, as a developer would
        await page.locator("#api-key-box summary").click()
        await page.locator("#api-key").fill(publisher_key)
    await _choose_wall_painting(page)

    # Inputs follow the questions' types, bounds and required flags.
    wall_count = page.get_by_label("How many walls need painting?")
    await expect(wall_count).to_have_attribute("type", "number")
    await expect(wall_count).to_have_attribute("min", "1")
    await expect(wall_count).to_have_attribute("max", "50")
    await expect(page.locator("#field-wall_count")).to_contain_text("walls")
    await expect(page.locator("#field-paint_supplied input[type=radio]")).to_have_count(2)
    await expect(page.locator("#field-details textarea")).to_have_attribute("maxlength", "2000")
    await expect(page.locator("#field-start_date input")).to_have_attribute("type", "date")
    await expect(page.locator("#field-room_type .required")).to_be_visible()
    await expect(page.locator("#field-details .required")).to_have_count(0)

    # Out of range: publishJob's extensions.fields message appears next to that field only.
    await _answer_required_questions(page, wall_count="99")
    await page.get_by_role("button", name="Publish job").click()
    error = page.locator("#error-wall_count")
    await expect(error).to_have_text(re.compile("at most 50"))
    await expect(page.locator(".field.invalid")).to_have_count(1)
    await expect(page.locator("#result")).to_be_hidden()
    await open_page.screenshot("wizard-field-error")

    await wall_count.fill("4")
    await page.get_by_role("button", name="Publish job").click()
    await expect(page.locator("#result")).to_be_visible()
    await expect(error).to_have_text("")
    await open_page.screenshot("wizard-published")

    job_id = uuid.UUID(await page.locator("#job-id").inner_text())
    assert await page.locator("#job-micro-id").inner_text() == "wall-painting"
    shown_uuid = uuid.UUID(await page.locator("#job-micro-uuid").inner_text())

    conn = await asyncpg.connect(live_server.database_url)
    try:
        stored = await conn.fetchrow(
            "SELECT micro_id, micro_uuid, answers FROM jobs WHERE id = $1", job_id
        )
        catalogue_uuid = await conn.fetchval(
            "SELECT id FROM micro_services WHERE slug = 'wall-painting'"
        )
    finally:
        await conn.close()
    assert stored is not None, "the page showed a job id the database does not hold"
    assert stored["micro_id"] == "wall-painting"
    assert stored["micro_uuid"] == catalogue_uuid == shown_uuid
    answers = json.loads(stored["answers"])
    assert answers["wall_count"] == 4
    assert answers["paint_supplied"] is False
    assert answers["floor_level"] == "first"

    assert log.foreign(live_server.url) == []
    assert log.page_errors == []
    assert log.console_errors == []


async def test_wizard_sends_the_api_key_entered_in_the_page(
    live_server: LiveServer, open_page: BrowserPage, publisher_key: str | None
) -> None:
    key = publisher_key or "wizard-test-key"
    page = open_page.page
    await page.goto(f"{live_server.url}/post")
    await expect(page.get_by_label("Category", exact=True)).to_be_enabled()
    await page.locator("#api-key-box summary").click()
    await page.locator("#api-key").fill(key)
    async with page.expect_request(
        lambda r: r.method == "POST" and "wizardQuestions" in (r.post_data or "")
    ) as sent:
        await _choose_wall_painting(page)
    request = await sent.value
    assert request.headers.get("authorization") == f"Bearer {key}"
