import json
from pathlib import Path

import pytest

from domain.catalogue import DEFAULT_CATALOGUE_PATH, Catalogue
from domain.errors import CatalogueError
from search.keywords import DEFAULT_STAGING_PATH, load_keywords

MIN_KEYWORDS = 8


def _catalogue(tmp_path: Path, services: list[dict[str, object]]) -> Path:
    path = tmp_path / "catalogue.json"
    document = {
        "categories": [
            {
                "slug": "c",
                "name": "C",
                "subcategories": [{"slug": "s", "name": "S", "micro_services": services}],
            }
        ]
    }
    path.write_text(json.dumps(document))
    return path


def test_every_catalogue_service_has_at_least_eight_keywords(catalogue: Catalogue) -> None:
    keywords = load_keywords()
    short = {
        service.slug: len(keywords.get(service.slug, ()))
        for service in catalogue.micro_services()
        if len(keywords.get(service.slug, ())) < MIN_KEYWORDS
    }
    assert short == {}


def test_the_staging_file_names_only_slugs_that_exist_or_are_coming() -> None:
    staged = json.loads(DEFAULT_STAGING_PATH.read_text())
    assert all(isinstance(terms, list) and len(terms) >= MIN_KEYWORDS for terms in staged.values())
    assert DEFAULT_CATALOGUE_PATH.parent == DEFAULT_STAGING_PATH.parent


def test_catalogue_keywords_win_over_the_staging_file(tmp_path: Path) -> None:
    catalogue = _catalogue(
        tmp_path,
        [{"slug": "a", "keywords": ["from catalogue"]}, {"slug": "b"}, {"slug": "c"}],
    )
    staging = tmp_path / "terms.json"
    staging.write_text(json.dumps({"a": ["staged a"], "b": ["staged b", "staged b"]}))
    assert load_keywords(catalogue, staging) == {"a": ("from catalogue",), "b": ("staged b",)}


def test_no_staging_file_means_catalogue_keywords_only(tmp_path: Path) -> None:
    catalogue = _catalogue(tmp_path, [{"slug": "a", "keywords": ["x"]}, {"slug": "b"}])
    assert load_keywords(catalogue, tmp_path / "absent.json") == {"a": ("x",)}


@pytest.mark.parametrize("bad", [["ok", 3], "not a list", ["   "], ["x" * 61]])
def test_a_malformed_keyword_list_names_the_service(tmp_path: Path, bad: object) -> None:
    catalogue = _catalogue(tmp_path, [{"slug": "broken", "keywords": bad}])
    with pytest.raises(CatalogueError, match="'broken'"):
        load_keywords(catalogue, tmp_path / "absent.json")
