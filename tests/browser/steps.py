"""Moves through /post's wizard that several browser tests share."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from playwright.async_api import Page, expect


async def publish(page: Page) -> None:
    """Publish from the step shown: Next up to the last step (the review, where Publish job
    is), then Publish job."""
    button = page.get_by_role("button", name="Publish job")
    progress = page.locator("#progress-text")
    for _ in range(20):
        if await button.is_visible():
            await button.click()
            return
        before = await progress.inner_text()
        await page.get_by_role("button", name="Next").click()
        if await progress.inner_text() == before:
            return  # the step holds a fault: its message is at its field
    raise AssertionError("Publish job never appeared")


async def choose_wall_painting(page: Page) -> None:
    await page.locator("#pickers summary").click()
    await page.get_by_label("Category", exact=True).select_option("painting")
    await page.get_by_label("Subcategory").select_option("interior")
    await page.get_by_label("Service", exact=True).select_option("wall-painting")
    await expect(page.locator("#questions-form")).to_be_visible()


async def choose(page: Page, question: str, option: str) -> None:
    """An answer by its words, whether the question shows choices or a list."""
    group = page.get_by_role("group", name=question)
    if await group.count():
        await group.get_by_label(option, exact=True).check()
    else:
        await page.get_by_label(question).select_option(label=option)


async def next_step(page: Page, expected_step: str) -> None:
    await page.get_by_role("button", name="Next").click()
    await expect(page.locator("#progress-text")).to_contain_text(expected_step)


async def where(page: Page, postcode: str = "SW1A 1AA") -> None:
    """The first step, where the job is (web/static/location.js), then on to the questions."""
    await expect(page.locator("#progress-text")).to_contain_text("Step 1 of 9: Where is the job?")
    await page.get_by_label("Postcode of the job").fill(postcode)
    await next_step(page, "Step 2 of 9: The job")


Answer = Callable[[Page], Awaitable[None]]


def wall_painting_answers(wall_count: str) -> dict[str, Answer]:
    async def walls(page: Page) -> None:
        await page.get_by_label("How many walls need painting?").fill(wall_count)

    def pick(question: str, option: str) -> Answer:
        async def answer(page: Page) -> None:
            await choose(page, question, option)

        return answer

    return {
        "room_type": pick("Which room are the walls in?", "Bedroom"),
        "wall_count": walls,
        "wall_condition": pick(
            "What condition are the walls in?", "Good \u2013 just needs a fresh coat"
        ),
        "paint_supplied": pick("Will you supply the paint?", "No"),
        "property_type": pick("What type of property is it?", "Flat / apartment"),
        "floor_level": pick("Which floor is the work on?", "First floor"),
        "parking": pick("Is there parking for the tradesperson?", "Free street parking"),
        "start_timing": pick("When would you like the work to start?", "Within a month"),
        "budget_range": pick("What's your rough budget?", "£250 \u2013 £500"),
    }


async def answer_screens(page: Page, answers: dict[str, Answer], until: str) -> None:
    """Answer what each screen shows from `answers` (by question id), Next, until the
    progress names `until`."""
    progress = page.locator("#progress-text")
    for _ in range(30):
        if until in await progress.inner_text():
            return
        for question_id, answer in answers.items():
            if await page.locator(f"#field-{question_id}").is_visible():
                await answer(page)
        before = await progress.inner_text()
        await page.get_by_role("button", name="Next").click()
        await expect(progress).not_to_have_text(before)
    raise AssertionError(f"never reached {until!r}")


async def answer_required_questions(page: Page, wall_count: str) -> None:
    """Every required answer of wall-painting, screen by screen, up to the photos."""
    await expect(page.locator("#progress-text")).to_contain_text(re.compile("Step 2 of 9: The job"))
    await answer_screens(page, wall_painting_answers(wall_count), until="Photos of the job")
