"""One search engine per run: the model is loaded once and the service vectors are cached in
pytest's cache folder, keyed by the model and every embedded text (a stale cache is never read)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.catalogue import Catalogue
from search import SearchEngine, build_engine, load_keywords


@pytest.fixture(scope="session")
def engine(request: pytest.FixtureRequest, catalogue: Catalogue) -> Iterator[SearchEngine]:
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    cache_dir = cache.mkdir("search-vectors") if cache is not None else None
    built = build_engine(catalogue, load_keywords(catalogue), cache_dir=cache_dir)
    yield built
    built.close()
