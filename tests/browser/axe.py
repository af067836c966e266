"""axe-core (the npm package, pinned in package-lock.json) run inside the page under test:
WCAG 2.2 A and AA rules, and the serious or critical violations it finds, as readable lines."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from playwright.async_api import Page

from config import ROOT

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# Written into docs/ only when asked: `make test` must leave the tree as it found it.
SCREENSHOTS = ROOT / "docs" / "screenshots"
UPDATE_SCREENSHOTS = os.environ.get("UPDATE_SCREENSHOTS") == "1"


@functools.cache
def _source() -> str:
    if not AXE.is_file():
        raise AssertionError(f"{AXE} is missing: run `npm ci` (make assets does)")
    return AXE.read_text(encoding="utf-8")


async def serious_violations(page: Page) -> list[str]:
    """Serious and critical WCAG violations on the page as it stands now."""
    # Evaluated through the debugging protocol, so the page's script-src policy allows it.
    if not await page.evaluate("() => Boolean(window.axe)"):
        await page.evaluate(_source())
    result = await page.evaluate(
        "(tags) => axe.run(document, { runOnly: { type: 'tag', values: tags } })", TAGS
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:4])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def doc_screenshot(page: Page, name: str) -> Path | None:
    """A small PNG of the screen shown, for docs/screenshots/, when UPDATE_SCREENSHOTS=1."""
    if not UPDATE_SCREENSHOTS:
        return None
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=False)
    return path
