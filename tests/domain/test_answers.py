from typing import Any

import pytest

from domain.answers import REQUIRED, validate_answers
from domain.catalogue import Catalogue, MicroServiceSpec
from domain.errors import BadUserInputError
from tests.support.jobs import WALL_PAINTING_ANSWERS

VALID: dict[str, Any] = WALL_PAINTING_ANSWERS


@pytest.fixture
def wall_painting(catalogue: Catalogue) -> MicroServiceSpec:
    spec = catalogue.micro_service("wall-painting")
    assert spec is not None
    return spec


def _faults(spec: MicroServiceSpec, answers: Any) -> dict[str, str]:
    with pytest.raises(BadUserInputError) as caught:
        validate_answers(spec, answers)
    return caught.value.fields


def test_valid_answers_pass_and_optional_nulls_are_dropped(wall_painting: MicroServiceSpec) -> None:
    clean = validate_answers(wall_painting, {**VALID, "details": None, "start_date": "2027-01-15"})
    assert clean == {**VALID, "start_date": "2027-01-15"}


def test_missing_required_answer(wall_painting: MicroServiceSpec) -> None:
    answers = {k: v for k, v in VALID.items() if k != "wall_count"}
    assert _faults(wall_painting, answers) == {"wall_count": REQUIRED}


def test_wrong_type(wall_painting: MicroServiceSpec) -> None:
    faults = _faults(wall_painting, {**VALID, "wall_count": "four", "paint_supplied": "no"})
    assert faults == {
        "wall_count": "Expected a number.",
        "paint_supplied": "Expected true or false.",
    }


def test_boolean_is_not_a_number(wall_painting: MicroServiceSpec) -> None:
    assert _faults(wall_painting, {**VALID, "wall_count": True}) == {
        "wall_count": "Expected a number."
    }


def test_option_not_offered(wall_painting: MicroServiceSpec) -> None:
    faults = _faults(wall_painting, {**VALID, "room_type": "castle"})
    assert faults["room_type"].startswith("'castle' is not an offered option")


def test_number_out_of_range_both_ends(wall_painting: MicroServiceSpec) -> None:
    assert _faults(wall_painting, {**VALID, "wall_count": 51}) == {
        "wall_count": "Must be at most 50 walls."
    }
    assert _faults(wall_painting, {**VALID, "wall_count": 0}) == {
        "wall_count": "Must be at least 1 walls."
    }
    assert validate_answers(wall_painting, {**VALID, "wall_count": 50})["wall_count"] == 50


def test_unknown_question_id(wall_painting: MicroServiceSpec) -> None:
    faults = _faults(wall_painting, {**VALID, "colour_of_cat": "black"})
    assert list(faults) == ["colour_of_cat"]


def test_every_fault_is_listed_at_once(wall_painting: MicroServiceSpec) -> None:
    faults = _faults(wall_painting, {"room_type": "castle", "wall_count": 99, "bogus": 1})
    assert {"room_type", "wall_count", "bogus", "wall_condition", "budget_range"} <= set(faults)


def test_answers_must_be_an_object(wall_painting: MicroServiceSpec) -> None:
    with pytest.raises(BadUserInputError, match="must be a JSON object"):
        validate_answers(wall_painting, ["bedroom"])


def test_multi_select_text_and_date_rules(catalogue: Catalogue) -> None:
    spec = next(
        s
        for s in catalogue.micro_services()
        if any(q.kind.value == "multi_select" and q.required for q in s.questions)
    )
    multi = next(q for q in spec.questions if q.kind.value == "multi_select" and q.required)
    first = multi.options[0].value
    base = {q.id: None for q in spec.questions}
    faults = _faults(spec, {**base, multi.id: []})
    assert faults[multi.id] == REQUIRED
    faults = _faults(spec, {**base, multi.id: [first, first]})
    assert faults[multi.id] == "An option is chosen more than once."
    faults = _faults(spec, {**base, multi.id: [first], "start_date": "15/01/2027"})
    assert faults["start_date"] == "Expected a date as YYYY-MM-DD."
    assert multi.id not in faults
