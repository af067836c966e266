"""Curated search keywords per micro service: symptoms, trade slang, misspellings, brand words.

Their home is the `keywords` list of each micro service in `db/catalogue.json`. Until every
service there has one, `db/search_terms.json` ({slug: [term, ...]}) is a temporary staging file
read for the services whose catalogue entry has no `keywords`; once the catalogue carries them
all, the staging file can be deleted and nothing else changes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from domain.catalogue import DEFAULT_CATALOGUE_PATH
from domain.errors import CatalogueError

STAGING_FILE = "search_terms.json"
DEFAULT_STAGING_PATH = DEFAULT_CATALOGUE_PATH.parent / STAGING_FILE

# A keyword longer than this is a sentence, not a keyword: refused, so that a mistake in the file
# cannot slow every search down.
MAX_KEYWORD_LENGTH = 60


def load_keywords(
    catalogue_path: Path = DEFAULT_CATALOGUE_PATH, staging_path: Path = DEFAULT_STAGING_PATH
) -> dict[str, tuple[str, ...]]:
    """{slug: keywords} for every micro service that has any, catalogue entries first."""
    catalogue = _read(catalogue_path)
    staged = _read(staging_path) if staging_path.exists() else {}
    if not isinstance(staged, Mapping):
        raise CatalogueError(f"{staging_path} must be an object of slug -> list of keywords")
    keywords: dict[str, tuple[str, ...]] = {}
    for category in catalogue.get("categories", []):
        for subcategory in category.get("subcategories", []):
            for service in subcategory.get("micro_services", []):
                slug = service.get("slug")
                raw = service["keywords"] if "keywords" in service else staged.get(slug)
                if raw is not None:
                    keywords[slug] = _terms(raw, f"keywords of micro service {slug!r}")
    return keywords


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CatalogueError(f"Keyword file {path} cannot be read: {exc}") from exc


def _terms(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(term, str) for term in raw):
        raise CatalogueError(f"{where} must be a list of strings")
    for term in raw:
        if not term.strip() or len(term) > MAX_KEYWORD_LENGTH:
            raise CatalogueError(f"{where}: {term!r} must be 1 to {MAX_KEYWORD_LENGTH} characters")
    return tuple(dict.fromkeys(term.strip() for term in raw))
