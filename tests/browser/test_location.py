"""/post's location and photos step in Chromium: the postcode checked as it is typed, real image
files uploaded as they are added with the server's thumbnails as previews, removed again, a
file the server refuses shown at its photo, and the job published with all of it."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import asyncpg
from playwright.async_api import Page, expect

from tests.browser.conftest import BrowserPage, LiveServer
from tests.browser.steps import answer_required_questions, choose_wall_painting, publish
from tests.media import samples


async def _open_wizard(page: Page, url: str, key: str | None) -> None:
    await page.goto(f"{url}/post")
    if key is not None:
        await page.locator("#api-key-box summary").click()
        await page.locator("#api-key").fill(key)
    await choose_wall_painting(page)


async def _answer(page: Page) -> None:
    """From the first step (where), every required answer, to the photos."""
    await page.get_by_role("button", name="Next").click()
    await answer_required_questions(page, wall_count="4")


def _files(tmp_path: Path) -> dict[str, Path]:
    files = {
        "kitchen.jpg": samples.jpeg((1600, 1200)),
        "wall.png": samples.png((600, 400), mode="RGB"),
        "ceiling.webp": samples.webp((500, 500)),
        "archive.jpg": samples.zip_renamed_jpg(),  # a ZIP named like a photo
    }
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(data)
    return paths


async def test_the_postcode_is_checked_as_it_is_typed(
    live_server: LiveServer, open_page: BrowserPage, publisher_key: str | None
) -> None:
    page = open_page.page
    await _open_wizard(page, live_server.url, publisher_key)
    await expect(page.locator("#progress-text")).to_have_text("Step 1 of 9: Where is the job?")
    postcode, error = page.get_by_label("Postcode of the job"), page.locator("#error-location")
    await postcode.press_sequentially("SW1")
    await expect(error).to_have_text("")  # still typing: not yet an error
    await postcode.press_sequentially("A")
    await postcode.blur()
    await expect(error).to_have_text(re.compile("needs both halves"))
    await expect(page.locator("#field-location")).to_have_class(re.compile("invalid"))
    await postcode.fill("sw1a1aa")
    await expect(error).to_have_text("")
    await expect(page.locator("#postcode-ok")).to_have_text("✓ SW1A 1AA")
    await postcode.fill("SW1A 1A#")
    await expect(error).to_have_text(re.compile("only letters, digits and spaces"))
    await postcode.fill("QA1 1AA")
    await expect(error).to_have_text(re.compile("not a valid UK postcode"))
    await open_page.screenshot("wizard-postcode-error")
    # Next with it is stopped at the field, the focus there, nothing sent.
    await postcode.fill("SW1A")
    await page.get_by_role("button", name="Next").click()
    await expect(page.locator("#progress-text")).to_have_text("Step 1 of 9: Where is the job?")
    await expect(error).to_have_text(re.compile("needs both halves"))
    await expect(postcode).to_be_focused()
    await expect(postcode).to_have_attribute("aria-invalid", "true")
    assert open_page.log.page_errors == []


async def test_photos_upload_as_added_preview_remove_and_publish_with_the_job(
    live_server: LiveServer,
    open_page: BrowserPage,
    publisher_key: str | None,
    tmp_path: Path,
) -> None:
    page, log = open_page.page, open_page.log
    paths = _files(tmp_path)
    await _open_wizard(page, live_server.url, publisher_key)
    await page.get_by_label("Postcode of the job").fill("m1 1ae")
    await page.get_by_label("First line of the address (optional)").fill("12 Test Street")
    await _answer(page)

    async with page.expect_response(lambda r: r.url.endswith("/uploads")) as first:
        await page.get_by_label("Photos (optional)").set_input_files(paths["kitchen.jpg"])
    assert (await first.value).status == 201
    await page.get_by_label("Photos (optional)").set_input_files(
        [paths["wall.png"], paths["ceiling.webp"], paths["archive.jpg"]]
    )
    items = page.locator("#photo-list li")
    await expect(items).to_have_count(4)
    await expect(page.locator("#photo-list li.done")).to_have_count(3)
    # The refused file says why, at its own entry, and can be removed.
    bad = page.locator("#photo-list li.failed")
    await expect(bad).to_have_count(1)
    await expect(bad).to_contain_text("not a photo we can take")
    await expect(page.locator("#photo-count")).to_contain_text("4 of 10 photos")
    # Previews are the server's thumbnails, loaded.
    previews = page.locator("#photo-list li.done img")
    await expect(previews).to_have_count(3)
    for i in range(3):
        await expect(previews.nth(i)).to_have_js_property("complete", True)
        assert await previews.nth(i).evaluate("img => img.naturalWidth") > 0
    assert await previews.nth(0).evaluate("img => img.naturalWidth") == 320
    await open_page.screenshot("wizard-photos")

    # Going on with a failed photo still listed is stopped at the photos field.
    await page.get_by_role("button", name="Next").click()
    await expect(page.locator("#error-photoIds")).to_have_text(re.compile("could not be added"))
    await bad.get_by_role("button", name=re.compile("Remove")).click()
    await items.filter(has_text="wall.png").get_by_role("button", name=re.compile("Remove")).click()
    await expect(items).to_have_count(2)
    kept = [await items.nth(i).get_attribute("data-upload-id") for i in range(2)]

    await publish(page)
    await expect(page.locator("#result")).to_be_visible()
    job_id = uuid.UUID(await page.locator("#result").get_attribute("data-job-id") or "")
    conn = await asyncpg.connect(live_server.database_url)
    try:
        job = await conn.fetchrow(
            "SELECT postcode, postcode_district, address_line FROM jobs WHERE id = $1", job_id
        )
        photos = await conn.fetch(
            "SELECT id FROM uploads WHERE job_id = $1 ORDER BY position", job_id
        )
    finally:
        await conn.close()
    assert job is not None
    assert tuple(job) == ("M1 1AE", "M1", "12 Test Street")
    assert [str(p["id"]) for p in photos] == kept
    assert log.foreign(live_server.url) == []
    assert log.page_errors == []
    # The one console error is the browser reporting the refused upload's 415.
    assert all("415" in message for message in log.console_errors), log.console_errors


async def test_the_servers_photo_error_is_shown_at_the_photos_field(
    live_server: LiveServer,
    open_page: BrowserPage,
    publisher_key: str | None,
    tmp_path: Path,
) -> None:
    page = open_page.page
    paths = _files(tmp_path)
    await _open_wizard(page, live_server.url, publisher_key)
    await page.get_by_label("Postcode of the job").fill("SW1A 1AA")
    await _answer(page)
    await page.get_by_label("Photos (optional)").set_input_files(paths["kitchen.jpg"])
    done = page.locator("#photo-list li.done")
    await expect(done).to_have_count(1)
    upload_id = uuid.UUID(await done.get_attribute("data-upload-id") or "")
    # Meanwhile the upload went to another job (another tab published it, say).
    conn = await asyncpg.connect(live_server.database_url)
    try:
        owner = await conn.fetchval("SELECT api_key_id FROM uploads WHERE id = $1", upload_id)
        other_job = await conn.fetchval(
            "INSERT INTO jobs (micro_id, answers, api_key_id) VALUES ('wall-painting', '{}', $1)"
            " RETURNING id",
            owner,
        )
        await conn.execute(
            "UPDATE uploads SET job_id = $1, position = 0, attached_at = now() WHERE id = $2",
            other_job,
            upload_id,
        )
    finally:
        await conn.close()
    await publish(page)
    await expect(page.locator("#error-photoIds")).to_have_text(
        "Photo 1 is already attached to another job."
    )
    await expect(page.locator("#field-photoIds")).to_have_class(re.compile("invalid"))
    await expect(page.locator("#result")).to_be_hidden()


async def test_at_most_ten_photos_are_taken(
    live_server: LiveServer,
    open_page: BrowserPage,
    publisher_key: str | None,
    tmp_path: Path,
) -> None:
    page = open_page.page
    paths = []
    for i in range(11):
        path = tmp_path / f"p{i}.jpg"
        path.write_bytes(samples.jpeg((64 + i, 64), metadata=False))
        paths.append(path)
    await _open_wizard(page, live_server.url, publisher_key)
    await page.get_by_label("Postcode of the job").fill("SW1A 1AA")
    await _answer(page)
    await page.get_by_label("Photos (optional)").set_input_files(paths)
    await expect(page.locator("#photo-list li")).to_have_count(10)
    await expect(page.locator("#error-photoIds")).to_have_text(re.compile("1 not added"))
    await expect(page.locator("#photo-list li.done")).to_have_count(10)
    await expect(page.get_by_label("Photos (optional)")).to_be_disabled()
