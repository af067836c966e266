"""The reference wizard's search box (/post, web/static/search.js) in a real browser: typed
words become suggestions with their category path, a click picks the service and its
questions, and two related services follow."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.conftest import BrowserPage, LiveServer


async def test_typing_suggests_services_and_a_choice_opens_its_questions(
    live_server: LiveServer, open_page: BrowserPage
) -> None:
    page, log = open_page.page, open_page.log
    searches: list[str] = []
    page.on(
        "request",
        lambda request: (
            searches.append(request.url) if "searchServices" in (request.post_data or "") else None
        ),
    )
    await page.goto(f"{live_server.url}/post")
    await expect(page.locator("#category")).to_be_enabled()
    box = page.get_by_label("Describe the job in your own words")
    await box.press_sequentially("loo wont flush properly", delay=30)

    first = page.get_by_role("listbox").get_by_role("option").first
    await expect(first).to_contain_text("Toilet repair")
    await expect(first.locator(".suggestion-path")).to_have_text("Plumbing \u203a Plumbing repairs")
    # Debounced: typing 23 characters quickly sent a request per pause, not per letter.
    assert 1 <= len(searches) <= 4, len(searches)
    await open_page.screenshot("search-suggestions")

    await first.click()
    await expect(page.locator("#questions-form")).to_be_visible()
    await expect(page.locator("#micro-service")).to_have_value("toilet-repair")
    await expect(page.locator("#category")).to_have_value("plumbing")
    # The customer's own words stay in the box; they start the job's description.
    await expect(box).to_have_value("loo wont flush properly")
    await expect(page.locator("#description")).to_have_value("loo wont flush properly")
    related = page.locator("#related-services button.suggestion")
    await expect(related).to_have_count(2)
    await expect(page.locator("#related-services")).to_contain_text("Often posted with")
    await open_page.screenshot("search-chosen-with-related")

    # A related service is one click away, and brings its own questions.
    second = await related.first.get_attribute("data-slug")
    await related.first.click()
    await expect(page.locator("#micro-service")).to_have_value(second or "")

    assert log.page_errors == []
    assert log.console_errors == []


async def test_a_service_picked_from_the_lists_gets_related_services_too(
    live_server: LiveServer, open_page: BrowserPage
) -> None:
    page = open_page.page
    await page.goto(f"{live_server.url}/post")
    await page.locator("#pickers summary").click()
    await page.get_by_label("Category", exact=True).select_option("heating")
    await page.get_by_label("Subcategory").select_option("boilers")
    await page.get_by_label("Service", exact=True).select_option("boiler-repair")
    await expect(page.locator("#related-services button.suggestion")).to_have_count(2)


async def test_nonsense_says_nothing_matches(
    live_server: LiveServer, open_page: BrowserPage
) -> None:
    page = open_page.page
    await page.goto(f"{live_server.url}/post")
    await page.get_by_label("Describe the job in your own words").fill("qwertyuiop zxcv")
    await expect(page.locator("#service-suggestions")).to_contain_text("No service matches")
