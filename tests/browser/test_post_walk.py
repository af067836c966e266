"""/post walked as a homeowner would: keyboard only on a desktop, with axe-core on every step,
and with a finger on a phone (390 by 844): the wizard under the search, a suggestion clicked
mid-wizard that asks before dropping anything, a review, a confirmation in words."""

from __future__ import annotations

import re

from playwright.async_api import Page, ViewportSize, expect

from tests.browser.axe import doc_screenshot, serious_violations
from tests.browser.conftest import BrowserPage, LiveServer
from tests.browser.steps import answer_screens, choose, wall_painting_answers

PHONE: ViewportSize = {"width": 390, "height": 844}
WORDS = "my loo won't flush"
REMEMBER_KEY = "(key) => sessionStorage.setItem('jobwizard.apiKey', key)"


async def _focused(page: Page) -> dict[str, str]:
    found: dict[str, str] = await page.evaluate(
        """() => {
          const e = document.activeElement;
          return { id: e.id, tag: e.tagName, type: e.type || '', role: e.getAttribute('role') || '',
                   name: e.name || '', text: (e.textContent || '').trim().slice(0, 60),
                   required: String(Boolean(
                     e.required || e.closest('.field')?.querySelector('.required'))),
                   value: e.value || '', checked: String(Boolean(e.checked)),
                   groupChecked: String(Boolean(e.name && document.querySelector(
                     `input[name="${CSS.escape(e.name)}"]:checked`))) };
        }"""
    )
    return found


async def _axe_clean(page: Page, where: str) -> None:
    violations = await serious_violations(page)
    assert violations == [], f"{where}: {violations}"


async def _answer_by_keyboard(page: Page) -> None:
    """Tab through the screen shown, answering each required control the way a keyboard
    user does (Space on a radio, an arrow in a list, typing in a box), up to Next or Publish."""
    keyboard = page.keyboard
    for _ in range(40):
        await keyboard.press("Tab")
        focused = await _focused(page)
        if focused["id"] in ("next", "publish"):
            return
        if focused["id"] == "back":
            continue
        if focused["type"] == "radio" and focused["groupChecked"] == "false":
            await keyboard.press("Space")
        elif focused["tag"] == "SELECT" and not focused["value"]:
            await keyboard.press("ArrowDown")
        elif focused["id"] == "contact-name" and not focused["value"]:
            await keyboard.type("Alex Example")
        elif focused["id"] == "contact-email" and not focused["value"]:
            await keyboard.type("alex@example.com")
        elif focused["type"] == "number" and not focused["value"] and focused["required"] == "true":
            await keyboard.type("2")
        elif (
            focused["tag"] in ("INPUT", "TEXTAREA")
            and focused["type"] in ("text", "textarea")
            and focused["required"] == "true"
            and not focused["value"]
        ):
            await keyboard.type("Fine")
    raise AssertionError("no Next button reached by Tab")


async def test_the_wizard_walked_by_keyboard_alone_with_axe_on_every_step(
    live_server: LiveServer, open_page: BrowserPage, publisher_key: str | None
) -> None:
    page, log = open_page.page, open_page.log
    await page.goto(f"{live_server.url}/post")
    if publisher_key is not None:  # publishing needs a caller; the page keeps a key in the tab
        await page.evaluate(REMEMBER_KEY, publisher_key)
        await page.reload()
    await expect(page.locator("#category")).to_be_enabled()
    await _axe_clean(page, "the page as it opens")

    # The first Tab reaches the skip link, which lands in the search box.
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the job form")
    await expect(skip).to_be_focused()
    await page.keyboard.press("Enter")
    search = page.get_by_role("combobox", name="Describe the job in your own words")
    await expect(search).to_be_focused()

    # The combobox: results announced, arrows move through them, Enter chooses.
    await page.keyboard.type(WORDS)
    listbox = page.get_by_role("listbox")
    await expect(listbox.get_by_role("option").first).to_be_visible()
    await expect(search).to_have_attribute("aria-expanded", "true")
    await expect(page.locator("#service-search-status")).to_contain_text("found")
    await _axe_clean(page, "the suggestions")
    await page.keyboard.press("ArrowDown")
    first = listbox.get_by_role("option").first
    await expect(first).to_have_attribute("aria-selected", "true")
    first_id = await first.get_attribute("id") or ""
    await expect(search).to_have_attribute("aria-activedescendant", first_id)
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("ArrowUp")
    await expect(first).to_have_attribute("aria-selected", "true")
    chosen = (await first.locator(".suggestion-name").inner_text()).strip()
    await page.keyboard.press("Enter")

    # The wizard opens under the search, the focus on its first step; the words stay.
    await expect(page.locator("#service-name")).to_have_text(chosen)
    await expect(search).to_have_value(WORDS)
    await expect(page.locator("#title-location")).to_be_focused()
    await _axe_clean(page, "the first step")

    # Next with nothing typed: the message at the field, the focus on it.
    await page.keyboard.press("Tab")
    postcode = page.get_by_label("Postcode of the job")
    await expect(postcode).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#error-location")).to_have_text("Postcode is required.")
    await expect(postcode).to_have_attribute("aria-invalid", "true")
    await expect(postcode).to_have_attribute("aria-describedby", re.compile("error-location"))
    await expect(postcode).to_be_focused()
    await expect(page.locator("#progress-text")).to_contain_text("Where is the job?")
    await _axe_clean(page, "a step with an error")
    await page.keyboard.type("SW1A 1AA")
    await page.keyboard.press("Enter")

    # Every other step: answered by keyboard, axe-clean, the focus on its heading after Next.
    progress = page.locator("#progress-text")
    seen = []
    for _ in range(30):
        heading = page.locator(".wizard-step:not([hidden]) h3")
        await expect(heading).to_be_focused()
        seen.append(await progress.inner_text())
        await _axe_clean(page, seen[-1])
        if "Check and publish" in seen[-1]:
            break
        if "In your own words" in seen[-1]:
            await expect(page.locator("#description")).to_have_value(WORDS)
        await _answer_by_keyboard(page)
        await page.keyboard.press("Enter")
        await expect(progress).not_to_have_text(seen[-1])
    assert "Check and publish" in seen[-1], seen

    review = page.locator("#review-summary")
    for text in (chosen, "SW1A 1AA", WORDS, "Alex Example"):
        await expect(review).to_contain_text(text)
    if publisher_key is None:
        return
    await _answer_by_keyboard(page)
    await expect(page.locator("#publish")).to_be_focused()
    await page.keyboard.press("Enter")
    result = page.locator("#result")
    await expect(result).to_be_visible()
    await expect(page.locator("#result-title")).to_be_focused()
    await expect(page.locator("#result-summary")).to_contain_text(WORDS)
    await expect(page.locator("#result-next")).to_contain_text("My jobs")
    await _axe_clean(page, "the confirmation")
    assert log.page_errors == []
    assert log.console_errors == []


async def test_on_a_phone_the_wizard_follows_the_search_and_a_switch_asks_first(
    live_server: LiveServer, open_page: BrowserPage, publisher_key: str | None
) -> None:
    page = open_page.page
    await page.set_viewport_size(PHONE)
    await page.goto(f"{live_server.url}/post")
    if publisher_key is not None:
        await page.evaluate(REMEMBER_KEY, publisher_key)
        await page.reload()
    await expect(page.locator("#category")).to_be_enabled()
    await doc_screenshot(page, "phone-1-search")
    search = page.get_by_role("combobox", name="Describe the job in your own words")
    await search.fill("walls need painting")
    await page.get_by_role("option", name=re.compile("^Wall painting")).click()
    form = page.locator("#questions-form")
    await expect(form).to_be_visible()

    # Under the search, in view, with nothing for developers in between.
    box = await form.bounding_box()
    assert box is not None
    # Scrolled into view: its top at the top of the viewport, give or take a sub-pixel.
    assert -1 <= box["y"] < PHONE["height"] / 3, box
    assert (
        await page.evaluate("() => document.getElementById('step-service').nextElementSibling.id")
        == "questions-form"
    )
    await expect(page.locator("#pickers")).not_to_have_attribute("open", "")

    await page.get_by_label("Postcode of the job").fill("M1 1AE")
    await page.get_by_role("button", name="Next").click()
    await choose(page, "Which room are the walls in?", "Bedroom")
    await doc_screenshot(page, "phone-2-one-question")
    await page.get_by_role("button", name="Next").click()
    await expect(page.locator("#progress-text")).to_contain_text("question 2 of")

    # A suggestion clicked now asks first; keeping the job keeps everything.
    await search.fill("fence blown down")
    await page.get_by_role("option").filter(has_text="Fence").first.click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("postcode, photos and details stay")
    await expect(page.locator("#switch-keep")).to_be_focused()
    await dialog.get_by_role("button", name="Keep my job").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#service-name")).to_have_text("Wall painting")
    await expect(page.locator("#progress-text")).to_contain_text("question 2 of")

    # Switching keeps the postcode (and answers both services ask).
    await search.fill("garden fence blown down")
    await page.get_by_role("option").filter(has_text="Fence").first.click()
    await dialog.get_by_role("button", name="Switch service").click()
    await expect(page.locator("#service-name")).to_contain_text("ence")
    await expect(page.get_by_label("Postcode of the job")).to_have_value("M1 1AE")

    # Back to wall painting through the lists, answered in full, reviewed and published.
    await page.locator("#pickers summary").click()
    await page.get_by_label("Category", exact=True).select_option("painting")
    await page.get_by_label("Subcategory").select_option("interior")
    await page.get_by_label("Service", exact=True).select_option("wall-painting")
    # Nothing answered about the fence yet: nothing to lose, nothing asked.
    await expect(page.locator("#service-name")).to_have_text("Wall painting")
    await expect(dialog).to_be_hidden()
    await page.get_by_role("button", name="Next").click()
    await answer_screens(page, wall_painting_answers("3"), until="Photos of the job")
    await page.get_by_role("button", name="Next").click()
    await page.get_by_role("button", name="Next").click()
    await page.get_by_label("Your name").fill("Sam Example")
    await page.locator("#contact-email").fill("sam@example.com")
    await page.get_by_role("button", name="Next").click()
    await expect(page.locator("#progress-text")).to_contain_text("Check and publish")
    await expect(page.locator("#review-summary")).to_contain_text("Bedroom")
    await doc_screenshot(page, "phone-3-review")

    # "Change" goes back to the step, and Next returns through it.
    await page.get_by_role("button", name="Change postcode").click()
    await expect(page.get_by_label("Postcode of the job")).to_be_visible()
    if publisher_key is None:
        return
    button = page.get_by_role("button", name="Publish job")
    while not await button.is_visible():
        await page.get_by_role("button", name="Next").click()
    await button.click()
    await expect(page.locator("#result")).to_be_visible()
    await expect(page.locator("#result-summary")).to_contain_text("M1 1AE")
    await doc_screenshot(page, "phone-4-confirmation")
    assert open_page.log.page_errors == []
