import copy
import json
from typing import Any

import pytest

from domain.catalogue import DEFAULT_CATALOGUE_PATH, Catalogue, QuestionKind, parse_catalogue
from domain.errors import CatalogueError


@pytest.fixture
def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_CATALOGUE_PATH.read_text())
    return data


def test_real_catalogue_has_the_promised_breadth(catalogue: Catalogue) -> None:
    subcategories = [s for c in catalogue.categories for s in c.subcategories]
    assert len(catalogue.categories) >= 8
    assert len(subcategories) >= 25
    assert len(catalogue.by_slug) >= 120
    for spec in catalogue.micro_services():
        own = [q for q in spec.questions if q.block is None]
        assert len(own) >= 3, spec.slug
        blocks = {q.block for q in spec.questions if q.block}
        assert {"property", "timing", "budget"} <= blocks, spec.slug


def test_fixed_wall_painting_entry(catalogue: Catalogue) -> None:
    spec = catalogue.micro_service("wall-painting")
    assert spec is not None
    assert (spec.category, spec.subcategory) == ("painting", "interior")
    room = spec.question("room_type")
    walls = spec.question("wall_count")
    assert room is not None
    assert room.kind is QuestionKind.SINGLE_SELECT
    assert "bedroom" in room.option_values
    assert walls is not None
    assert walls.kind is QuestionKind.NUMBER
    assert (walls.min, walls.max) == (1, 50)


def _first_service(raw: dict[str, Any]) -> dict[str, Any]:
    service: dict[str, Any] = raw["categories"][0]["subcategories"][0]["micro_services"][0]
    return service


def test_duplicate_micro_service_slug_names_the_slug(raw: dict[str, Any]) -> None:
    services = raw["categories"][0]["subcategories"][0]["micro_services"]
    services.append(copy.deepcopy(services[0]))
    with pytest.raises(CatalogueError, match="micro service 'wall-painting' appears twice"):
        parse_catalogue(raw)


def test_duplicate_question_id_names_service_and_question(raw: dict[str, Any]) -> None:
    service = _first_service(raw)
    service["questions"].append(copy.deepcopy(service["questions"][0]))
    with pytest.raises(CatalogueError, match=r"'wall-painting'.*question id 'room_type'"):
        parse_catalogue(raw)


def test_question_clashing_with_a_block_question_is_refused(raw: dict[str, Any]) -> None:
    _first_service(raw)["questions"].append(
        {"id": "budget_range", "label": "Budget?", "type": "text", "required": False}
    )
    with pytest.raises(CatalogueError, match="question id 'budget_range' appears twice"):
        parse_catalogue(raw)


def test_select_without_options_is_refused(raw: dict[str, Any]) -> None:
    _first_service(raw)["questions"][0]["options"] = []
    with pytest.raises(CatalogueError, match=r"'room_type'.*needs at least two options"):
        parse_catalogue(raw)


def test_min_greater_than_max_is_refused(raw: dict[str, Any]) -> None:
    wall_count = next(q for q in _first_service(raw)["questions"] if q["id"] == "wall_count")
    wall_count["min"], wall_count["max"] = 60, 50
    with pytest.raises(CatalogueError, match=r"'wall_count': min 60\.0 is greater than max 50\.0"):
        parse_catalogue(raw)


def test_unknown_block_is_refused(raw: dict[str, Any]) -> None:
    _first_service(raw)["blocks"] = ["property", "parking_lot"]
    with pytest.raises(CatalogueError, match="unknown question block 'parking_lot'"):
        parse_catalogue(raw)


def test_bad_slug_is_refused(raw: dict[str, Any]) -> None:
    _first_service(raw)["slug"] = "Wall Painting"
    with pytest.raises(CatalogueError, match="not lowercase-kebab-case"):
        parse_catalogue(raw)
