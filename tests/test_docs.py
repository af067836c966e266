"""The front door stays short and every link in it and in docs/ leads somewhere real."""

from __future__ import annotations

import re
from pathlib import Path

from config import ROOT

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_readme_is_under_150_lines() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) < 150


def test_every_relative_link_resolves_inside_the_repository() -> None:
    broken: list[str] = []
    for page in PAGES:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+://", target) or target.startswith("mailto:"):
                continue
            path = (page.parent / target).resolve()
            if not path.exists() or ROOT.resolve() not in (path, *path.parents):
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert broken == []
    assert len(PAGES) > 3


def test_the_readme_links_into_docs_not_outside() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../shared" not in text
    assert all((ROOT / Path(t)).exists() for t in LINK.findall(text) if "://" not in t)
