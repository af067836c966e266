"""Moves through /post's wizard that several browser tests share."""

from __future__ import annotations

from playwright.async_api import Page


async def publish(page: Page) -> None:
    """Publish from the step shown: Next up to the last step (the customer's details, where
    Publish job is), then Publish job."""
    button = page.get_by_role("button", name="Publish job")
    while not await button.is_visible():
        await page.get_by_role("button", name="Next").click()
    await button.click()
