"""Moves through /post's wizard that several browser tests share."""

from __future__ import annotations

from playwright.async_api import Page, expect


async def publish(page: Page) -> None:
    """Publish from the step shown: Next up to the last step (the customer's details, where
    Publish job is), then Publish job."""
    button = page.get_by_role("button", name="Publish job")
    while not await button.is_visible():
        await page.get_by_role("button", name="Next").click()
    await button.click()


async def choose_wall_painting(page: Page) -> None:
    await page.get_by_label("Category", exact=True).select_option("painting")
    await page.get_by_label("Subcategory").select_option("interior")
    await page.get_by_label("Service", exact=True).select_option("wall-painting")
    await expect(page.locator("#questions-form")).to_be_visible()


async def next_step(page: Page, expected_step: str) -> None:
    await page.get_by_role("button", name="Next").click()
    await expect(page.locator("#progress-text")).to_contain_text(expected_step)


async def where(page: Page, postcode: str = "SW1A 1AA") -> None:
    """The first step, where the job is (web/static/location.js), then on to the questions."""
    await expect(page.locator("#progress-text")).to_contain_text("Step 1 of 7: Where is the job?")
    await page.get_by_label("Postcode of the job").fill(postcode)
    await next_step(page, "Step 2 of 7: The job")


async def answer_required_questions(page: Page, wall_count: str) -> None:
    """Every required answer of wall-painting, step by step, through the input its type gets."""
    await expect(page.locator("#progress-text")).to_have_text("Step 2 of 7: The job")
    await page.get_by_label("Which room are the walls in?").select_option(label="Bedroom")
    await page.get_by_label("How many walls need painting?").fill(wall_count)
    await page.get_by_label("What condition are the walls in?").select_option("good")
    await page.locator("#field-paint_supplied").get_by_label("No", exact=True).check()
    await next_step(page, "Step 3 of 7: The property")
    await page.get_by_label("What type of property is it?").select_option("flat_apartment")
    await next_step(page, "Step 4 of 7: Access")
    await page.locator("#field-floor_level").get_by_label("First floor").check()
    await page.locator("#field-parking").get_by_label("Free street parking").check()
    await next_step(page, "Step 5 of 7: When and budget")
    await page.get_by_label("When would you like the work to start?").select_option(
        "within_a_month"
    )
    await page.get_by_label("What's your rough budget?").select_option("from_250_to_500")
