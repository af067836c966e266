"""Curated keywords: every service has enough, and a malformed list names its service."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from config.database import DEFAULT_CATALOGUE_PATH
from domain.catalogue import Catalogue, parse_catalogue
from domain.errors import CatalogueError
from search.keywords import load_keywords

MIN_KEYWORDS = 8


def test_every_catalogue_service_has_at_least_eight_keywords(catalogue: Catalogue) -> None:
    keywords = load_keywords(catalogue)
    short = {
        service.slug: len(keywords.get(service.slug, ()))
        for service in catalogue.micro_services()
        if len(keywords.get(service.slug, ())) < MIN_KEYWORDS
    }
    assert short == {}


def _with_keywords(keywords: Any) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(DEFAULT_CATALOGUE_PATH.read_text())
    service = raw["categories"][0]["subcategories"][0]["micro_services"][0]
    service["keywords"] = copy.deepcopy(keywords)
    return raw


def test_keywords_are_trimmed_and_deduplicated() -> None:
    catalogue = parse_catalogue(_with_keywords([" damp wall ", "damp wall", "mould"]))
    spec = next(catalogue.micro_services())
    assert spec.keywords == ("damp wall", "mould")


@pytest.mark.parametrize("bad", [["ok", 3], "not a list", ["   "], ["x" * 61]])
def test_a_malformed_keyword_list_names_the_service(bad: object) -> None:
    with pytest.raises(CatalogueError, match="wall-painting"):
        parse_catalogue(_with_keywords(bad))
