"""The reference wizard (/post) clicked through in a real browser, as a person would."""

from __future__ import annotations

import json
import re
import uuid

import asyncpg
from playwright.async_api import expect

from tests.browser.conftest import BrowserPage, LiveServer
from tests.browser.steps import (
    answer_required_questions,
    choose,
    choose_wall_painting,
    publish,
    where,
)


async def test_wizard_shows_the_field_error_then_publishes_a_wall_painting_job(
    live_server: LiveServer, open_page: BrowserPage, publisher_key: str | None
) -> None:
    page, log = open_page.page, open_page.log
    await page.goto(f"{live_server.url}/post")
    if publisher_key is not None:  # a server with API keys: enter one, as a developer would
        await page.locator("#api-key-box summary").click()
        await page.locator("#api-key").fill(publisher_key)
    await choose_wall_painting(page)

    # The service's description heads the wizard; one step is shown at a time.
    await expect(page.locator("#service-description")).to_have_text(
        "Fresh paint on the walls of one or more rooms."
    )
    await expect(page.locator("#progress-steps li")).to_have_count(9)
    await expect(page.locator("#step-location")).to_be_visible()
    await expect(page.locator("#step-job-1")).to_be_hidden()
    await where(page)
    await expect(page.locator("#step-job-1")).to_be_visible()
    await expect(page.locator("#step-property")).to_be_hidden()
    await expect(page.get_by_role("button", name="Publish job")).to_be_hidden()

    # Inputs follow the questions' types, bounds and required flags; "Not sure" where allowed;
    # the job's questions come one a screen, each with its follow-ups.
    await expect(page.locator("#progress-text")).to_have_text(
        re.compile(r"Step 2 of 9: The job \(question 1 of \d+\)")
    )
    await expect(page.locator("#field-room_type .required")).to_be_visible()
    other = page.locator("#field-room_type_other")
    await expect(other).to_be_hidden()
    await choose(page, "Which room are the walls in?", "Something else")
    await expect(other).to_be_visible()
    # Next checks the screen: the follow-up is required, said at the field.
    await page.get_by_role("button", name="Next").click()
    await expect(page.locator("#error-room_type_other")).to_have_text("Write an answer to go on.")
    await expect(page.get_by_label("Describe it in a few words")).to_be_focused()
    await choose(page, "Which room are the walls in?", "Bedroom")
    await expect(other).to_be_hidden()
    await page.get_by_role("button", name="Next").click()

    wall_count = page.get_by_label("How many walls need painting?")
    await expect(wall_count).to_have_attribute("type", "number")
    await expect(wall_count).to_have_attribute("min", "1")
    await expect(wall_count).to_have_attribute("max", "50")
    await expect(page.locator("#field-wall_count")).to_contain_text("walls")
    # Out of range: the message in words at the field, the focus on it, the step kept.
    await wall_count.fill("99")
    await page.get_by_role("button", name="Next").click()
    error = page.locator("#error-wall_count")
    await expect(error).to_have_text("Enter at most 50 walls.")
    await expect(wall_count).to_be_focused()
    await expect(wall_count).to_have_attribute("aria-invalid", "true")
    await expect(page.locator(".field.invalid")).to_have_count(1)
    await open_page.screenshot("wizard-field-error")
    await wall_count.fill("4")
    await page.get_by_role("button", name="Next").click()
    await expect(error).to_have_text("")
    await expect(page.locator("#field-paint_supplied input[type=radio]")).to_have_count(3)
    await answer_required_questions(page, wall_count="4")

    # A branch that hides: a specific date opens the date; another timing hides it again,
    # and the hidden answer is not sent.
    await page.get_by_role("button", name="Back").click()
    start_date = page.locator("#field-start_date")
    if not await page.locator("#field-start_timing").is_visible():
        await page.get_by_role("button", name="Back").click()
    await expect(start_date).to_be_hidden()
    await choose(page, "When would you like the work to start?", "On a specific date")
    await expect(start_date).to_be_visible()
    await start_date.locator("input").fill("2027-03-01")
    await choose(page, "When would you like the work to start?", "Within a month")
    await expect(start_date).to_be_hidden()

    await publish(page)
    await expect(page.locator("#result")).to_be_visible()
    await open_page.screenshot("wizard-published")

    # The confirmation sums up what was sent, in words, and says what happens next; the job's
    # id is kept for links, never shown.
    summary = page.locator("#result-summary")
    await expect(summary).to_contain_text("Wall painting")
    await expect(summary).to_contain_text("SW1A 1AA")
    await expect(summary).to_contain_text("Bedroom")
    await expect(page.locator("#result-next")).to_contain_text("My jobs")
    await expect(page.locator("#result-title")).to_be_focused()
    job_id = uuid.UUID(await page.locator("#result").get_attribute("data-job-id") or "")
    assert str(job_id) not in await page.locator("#result").inner_text()

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
    assert stored["micro_uuid"] == catalogue_uuid
    answers = json.loads(stored["answers"])
    assert answers["wall_count"] == 4
    assert answers["paint_supplied"] is False
    assert answers["floor_level"] == "first"
    assert "start_date" not in answers
    assert "room_type_other" not in answers

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
        await choose_wall_painting(page)
    request = await sent.value
    assert request.headers.get("authorization") == f"Bearer {key}"


async def test_not_sure_on_a_measurement_is_accepted_and_shown_as_not_sure(
    live_server: LiveServer, open_page: BrowserPage, publisher_key: str | None
) -> None:
    page = open_page.page
    await page.goto(f"{live_server.url}/post")
    await page.locator("#pickers summary").click()
    await page.get_by_label("Category", exact=True).select_option("building")
    await page.get_by_label("Subcategory").select_option("extensions-conversions")
    await page.get_by_label("Service", exact=True).select_option("loft-conversion")
    await expect(page.locator("#questions-form")).to_be_visible()
    await page.get_by_label("Postcode of the job").fill("M1 1AE")
    await page.get_by_role("button", name="Next").click()

    height = page.locator("#q-loft_head_height_m")
    for _ in range(10):  # on to the screen that asks it
        if await height.is_visible():
            break
        await page.locator(".wizard-step:not([hidden]) input[type=radio]").first.check()
        await page.get_by_role("button", name="Next").click()
    await height.fill("1.2")
    await page.locator("#not-sure-loft_head_height_m").check()
    await expect(height).to_be_disabled()
    await expect(height).to_have_value("")
    # "Not sure" answers a required measurement: Next goes on.
    before = await page.locator("#progress-text").inner_text()
    await page.get_by_role("button", name="Next").click()
    await expect(page.locator("#progress-text")).not_to_have_text(before)
    await expect(page.locator("#error-loft_head_height_m")).to_have_text("")
    assert open_page.log.page_errors == []
