import copy
import json
from typing import Any

import pytest

from config.database import DEFAULT_CATALOGUE_PATH
from domain.catalogue import (
    Catalogue,
    MicroServiceSpec,
    QuestionKind,
    parse_catalogue,
)
from domain.errors import CatalogueError


@pytest.fixture
def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_CATALOGUE_PATH.read_text())
    return data


def test_real_catalogue_has_the_promised_breadth(catalogue: Catalogue) -> None:
    subcategories = [s for c in catalogue.categories for s in c.subcategories]
    assert len(catalogue.categories) >= 8
    assert len(subcategories) >= 25
    assert len(list(catalogue.micro_services())) >= 200
    for spec in catalogue.all_micro_services():
        own = [q for q in spec.questions if q.block is None and not q.show_if]
        assert len([q for q in own if q.id != "details"]) >= 4, spec.slug
        assert spec.description.strip(), spec.slug
        blocks = {q.block or "" for q in spec.questions}
        assert any(b.startswith("property") for b in blocks), spec.slug
        assert any(b.startswith("timing") for b in blocks), spec.slug
        assert any(b.startswith("budget") for b in blocks), spec.slug
        # Every question sits in one of the service's steps, in question order.
        in_steps = [qid for step in spec.steps for qid in step.question_ids]
        assert in_steps == [q.id for q in spec.questions], spec.slug


# One service of each trade the wizard review found missing, where the catalogue files it.
NEW_TRADES = {
    "house-removals": "removals-waste/removals",
    "man-and-van": "removals-waste/removals",
    "rubbish-removal": "removals-waste/waste-removal",
    "skip-hire": "removals-waste/waste-removal",
    "washing-machine-repair": "appliance-repair/appliance-repairs",
    "garden-room-installation": "landscaping/garden-buildings",
    "shed-installation": "landscaping/garden-buildings",
    "planning-drawings": "architecture/architectural-services",
    "burglar-alarm-installation": "security-systems/alarms-cctv",
    "cctv-installation": "security-systems/alarms-cctv",
    "chimney-sweeping": "heating/chimneys-stoves",
    "asbestos-survey": "building/asbestos",
    "asbestos-removal": "building/asbestos",
    "garage-door-installation": "windows-doors/garage-doors",
    "toilet-installation": "bathrooms/bathroom-installation",
    "hot-water-cylinder-installation": "heating/hot-water",
    "immersion-heater-repair": "heating/hot-water",
}


def test_every_new_trade_is_listed(catalogue: Catalogue) -> None:
    for slug, path in NEW_TRADES.items():
        spec = catalogue.micro_service(slug)
        assert spec is not None, slug
        assert f"{spec.category}/{spec.subcategory}" == path, slug


def test_shared_questions_fit_the_kind_of_job(catalogue: Catalogue) -> None:
    def spec(slug: str) -> MicroServiceSpec:
        found = catalogue.micro_service(slug)
        assert found is not None, slug
        return found

    def options(slug: str, question_id: str) -> frozenset[str]:
        question = spec(slug).question(question_id)
        assert question is not None, (slug, question_id)
        return question.option_values

    outdoor = ("roof-leak-repair", "tree-surgery", "lawn-mowing", "full-rewire", "loft-conversion")
    for slug in outdoor:
        assert spec(slug).question("floor_level") is None, slug
    assert spec("wall-painting").question("floor_level") is not None
    # Emergencies are quick, big projects never are, and neither gets the other's options.
    assert options("emergency-lockout", "response_time") == {
        "today",
        "within_24_hours",
        "this_week",
    }
    assert spec("emergency-lockout").question("start_timing") is None
    assert spec("loft-conversion").question("response_time") is None
    assert "asap" not in options("loft-conversion", "project_start")
    budget = spec("emergency-lockout").question("budget_small")
    assert budget is not None
    assert not budget.required
    assert "over_100000" in options("loft-conversion", "budget_project")
    assert spec("lawn-mowing").question("budget_per_visit") is not None
    assert {"tenant", "tenanted", "letting_agent"} <= options(
        "end-of-tenancy-cleaning", "occupancy"
    )
    occupancy = spec("end-of-tenancy-cleaning").question("occupancy")
    assert occupancy is not None
    assert occupancy.required


def test_wizard_steps_are_ordered_and_titled(catalogue: Catalogue) -> None:
    spec = catalogue.micro_service("wall-painting")
    assert spec is not None
    assert [(s.id, s.title) for s in spec.steps] == [
        ("job", "The job"),
        ("property", "The property"),
        ("access", "Access"),
        ("when_budget", "When and budget"),
    ]
    assert spec.steps[0].question_ids[:2] == ("room_type", "room_type_other")


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


def _question(raw: dict[str, Any], question_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        q for q in _first_service(raw)["questions"] if q["id"] == question_id
    )
    return found


def test_show_if_on_an_unknown_question_is_refused(raw: dict[str, Any]) -> None:
    _question(raw, "wall_count")["show_if"] = [{"question_id": "colour_of_cat", "values": ["x"]}]
    with pytest.raises(CatalogueError, match="show_if names unknown question 'colour_of_cat'"):
        parse_catalogue(raw)


def test_show_if_on_a_later_question_is_refused(raw: dict[str, Any]) -> None:
    _question(raw, "room_type")["show_if"] = [{"question_id": "paint_supplied", "values": ["true"]}]
    with pytest.raises(CatalogueError, match="'paint_supplied', which is asked later"):
        parse_catalogue(raw)


def test_show_if_cycle_is_refused(raw: dict[str, Any]) -> None:
    _question(raw, "room_type")["show_if"] = [{"question_id": "wall_condition", "values": ["good"]}]
    _question(raw, "wall_condition")["show_if"] = [
        {"question_id": "room_type", "values": ["bedroom"]}
    ]
    with pytest.raises(CatalogueError, match=r"form a cycle: .*room_type.*wall_condition"):
        parse_catalogue(raw)


def test_show_if_on_itself_is_a_cycle(raw: dict[str, Any]) -> None:
    _question(raw, "room_type")["show_if"] = [{"question_id": "room_type", "values": ["bedroom"]}]
    with pytest.raises(CatalogueError, match="form a cycle"):
        parse_catalogue(raw)


def test_show_if_value_the_question_cannot_have_is_refused(raw: dict[str, Any]) -> None:
    _question(raw, "wall_count")["show_if"] = [{"question_id": "room_type", "values": ["castle"]}]
    with pytest.raises(CatalogueError, match="show_if value 'castle' is not an answer"):
        parse_catalogue(raw)
    del _question(raw, "wall_count")["show_if"]
    _question(raw, "wall_condition")["show_if"] = [{"question_id": "wall_count", "values": ["3"]}]
    with pytest.raises(CatalogueError, match="only selects and yes/no can branch"):
        parse_catalogue(raw)


def test_flags_and_steps_are_checked(raw: dict[str, Any]) -> None:
    _question(raw, "wall_count")["allow_not_sure"] = "yes"
    with pytest.raises(CatalogueError, match="'allow_not_sure' must be true or false"):
        parse_catalogue(raw)
    _question(raw, "wall_count")["allow_not_sure"] = True
    _question(raw, "wall_count")["step"] = "the_moon"
    with pytest.raises(CatalogueError, match="unknown step 'the_moon'"):
        parse_catalogue(raw)
    del _question(raw, "wall_count")["step"]
    _question(raw, "room_type")["integer"] = True
    with pytest.raises(CatalogueError, match="'integer' is for number questions only"):
        parse_catalogue(raw)


def test_retired_service_stays_loadable_but_is_not_offered(raw: dict[str, Any]) -> None:
    _first_service(raw)["active"] = False
    catalogue = parse_catalogue(raw)
    assert catalogue.micro_service("wall-painting") is not None
    assert "wall-painting" not in {s.slug for s in catalogue.micro_services()}
    assert "wall-painting" in {s.slug for s in catalogue.all_micro_services()}
