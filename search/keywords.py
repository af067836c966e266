"""Curated search keywords per micro service: symptoms, trade slang, misspellings, brand words.

They live in each micro service's `keywords` list in `db/catalogue.json`, checked when the
catalogue loads (domain/catalogue.py); search reads them from the loaded catalogue.
"""

from __future__ import annotations

from domain.catalogue import Catalogue


def load_keywords(catalogue: Catalogue) -> dict[str, tuple[str, ...]]:
    """{slug: keywords} for every micro service that has any."""
    return {spec.slug: spec.keywords for spec in catalogue.micro_services() if spec.keywords}
