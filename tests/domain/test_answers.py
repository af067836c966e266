from typing import Any

import pytest

from domain.answers import MAX_ECHOED_KEY, REQUIRED, validate_answers
from domain.catalogue import Catalogue, MicroServiceSpec
from domain.errors import MAX_FIELD_ERRORS, BadUserInputError
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
    answers = {
        **VALID,
        "details": None,
        "start_timing": "specific_date",
        "start_date": "2027-01-15",
    }
    clean = validate_answers(wall_painting, answers)
    assert clean == {**VALID, "start_timing": "specific_date", "start_date": "2027-01-15"}


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


def _spec(catalogue: Catalogue, slug: str) -> MicroServiceSpec:
    spec = catalogue.micro_service(slug)
    assert spec is not None
    return spec


def test_a_count_is_a_whole_number(wall_painting: MicroServiceSpec) -> None:
    assert _faults(wall_painting, {**VALID, "wall_count": 1.5}) == {
        "wall_count": "Expected a whole number."
    }
    assert validate_answers(wall_painting, {**VALID, "wall_count": 4.0})["wall_count"] == 4


def test_huge_and_non_finite_numbers_are_refused_not_crashed(catalogue: Catalogue) -> None:
    wall_painting = _spec(catalogue, "wall-painting")
    huge = 10**400
    assert _faults(wall_painting, {**VALID, "wall_count": huge}) == {
        "wall_count": "Must be at most 50 walls."
    }
    assert _faults(wall_painting, {**VALID, "wall_count": -huge}) == {
        "wall_count": "Must be at least 1 walls."
    }
    assert _faults(wall_painting, {**VALID, "wall_count": float("inf")}) == {
        "wall_count": "Expected a finite number."
    }
    # A measurement (not a count) takes the same path without float() overflowing.
    ceiling = _spec(catalogue, "ceiling-painting")
    area = ceiling.question("ceiling_area_m2")
    assert area is not None
    assert not area.integer
    faults = _faults(ceiling, {"ceiling_area_m2": huge})
    assert faults["ceiling_area_m2"] == "Must be at most 300 m²."


@pytest.mark.parametrize(
    "value",
    [
        "20261130",
        "2026-W48-1",
        "0001-01-01",
        "1899-12-31",
        "2101-01-01",
        "2027-02-30",
        " 2027-01-15",
        20270115,
    ],
)
def test_dates_are_iso_and_within_a_sane_range(wall_painting: MicroServiceSpec, value: Any) -> None:
    faults = _faults(wall_painting, {**VALID, "start_timing": "specific_date", "start_date": value})
    assert list(faults) == ["start_date"]


def test_date_bounds_are_inclusive(wall_painting: MicroServiceSpec) -> None:
    for value in ("1900-01-01", "2100-12-31"):
        answers = {**VALID, "start_timing": "specific_date", "start_date": value}
        assert validate_answers(wall_painting, answers)["start_date"] == value


def test_hidden_question_is_refused_with_the_condition(wall_painting: MicroServiceSpec) -> None:
    faults = _faults(wall_painting, {**VALID, "start_date": "2027-01-15"})
    assert faults == {"start_date": "Not asked when start_timing is flexible."}


def test_shown_required_question_is_required(wall_painting: MicroServiceSpec) -> None:
    faults = _faults(wall_painting, {**VALID, "start_timing": "specific_date"})
    assert faults == {"start_date": REQUIRED}


def test_branch_on_a_fault_type(catalogue: Catalogue) -> None:
    boiler = _spec(catalogue, "boiler-repair")
    base = {
        "boiler_fault": "no_heating",
        "fuel_type": "mains_gas",
        "under_warranty": "not_sure",
        "boiler_make": "vaillant",
        "boiler_type": "combi",
        "boiler_location": "kitchen",
        "gas_smell": False,
        "property_type": "terraced_house",
        "occupancy": "tenant",
        "parking": "driveway",
        "response_time": "today",
    }
    # Not asked, so not required: the hidden error code and gas-emergency questions.
    assert validate_answers(boiler, base) == base
    assert _faults(boiler, {**base, "error_code": "F28"}) == {
        "error_code": "Not asked when boiler_fault is no_heating."
    }
    assert _faults(boiler, {**base, "boiler_fault": "error_code"}) == {"error_code": REQUIRED}
    shown = {**base, "boiler_fault": "error_code", "error_code": "F28"}
    assert validate_answers(boiler, shown)["error_code"] == "F28"
    # A gas smell (or not knowing) opens the safety question.
    assert _faults(boiler, {**base, "gas_smell": True}) == {"gas_emergency_called": REQUIRED}
    assert _faults(boiler, {**base, "gas_smell": "not_sure"}) == {"gas_emergency_called": REQUIRED}
    assert _faults(boiler, {**base, "gas_emergency_called": True}) == {
        "gas_emergency_called": "Not asked when gas_smell is false."
    }


def test_a_faulty_parent_does_not_blame_its_branch(catalogue: Catalogue) -> None:
    boiler = _spec(catalogue, "boiler-repair")
    faults = _faults(boiler, {"boiler_fault": "castle", "error_code": "F28"})
    assert "error_code" not in faults
    assert faults["boiler_fault"].startswith("'castle' is not an offered option")


def test_other_opens_its_text_question(wall_painting: MicroServiceSpec) -> None:
    assert _faults(wall_painting, {**VALID, "room_type": "other"}) == {"room_type_other": REQUIRED}
    answers = {**VALID, "room_type": "other", "room_type_other": "Boot room"}
    assert validate_answers(wall_painting, answers)["room_type_other"] == "Boot room"
    assert _faults(wall_painting, {**VALID, "room_type_other": "Boot room"}) == {
        "room_type_other": "Not asked when room_type is bedroom."
    }


def test_other_in_a_multi_select_opens_its_text_question(catalogue: Catalogue) -> None:
    rubbish = _spec(catalogue, "rubbish-removal")
    base = {
        "waste_types": ["furniture"],
        "waste_amount": "car_load",
        "waste_location": "inside",
        "property_type": "flat_apartment",
        "parking": "free_street",
        "start_timing": "asap",
        "budget_small": "under_100",
    }
    assert validate_answers(rubbish, base) == base
    assert _faults(rubbish, {**base, "waste_types": ["furniture", "other"]}) == {
        "waste_types_other": REQUIRED
    }


def test_not_sure_only_where_allowed(wall_painting: MicroServiceSpec) -> None:
    paint = wall_painting.question("paint_supplied")
    assert paint is not None
    assert paint.allow_not_sure
    clean = validate_answers(wall_painting, {**VALID, "paint_supplied": "not_sure"})
    assert clean["paint_supplied"] == "not_sure"
    faults = _faults(wall_painting, {**VALID, "wall_count": "not_sure", "room_type": "not_sure"})
    assert faults["wall_count"] == "Expected a number."
    assert faults["room_type"].startswith("'not_sure' is not an offered option")


def test_not_sure_on_a_measurement(catalogue: Catalogue) -> None:
    loft = _spec(catalogue, "loft-conversion")
    height = loft.question("loft_head_height_m")
    assert height is not None
    assert height.allow_not_sure
    assert height.min is not None
    assert height.min < 1.5


def test_old_shape_answers_get_a_per_field_error(catalogue: Catalogue) -> None:
    rewire = _spec(catalogue, "full-rewire")
    faults = _faults(rewire, {"rewire_scope": "partial", "bedroom_count": 3})
    assert "rewire_scope" in faults
    assert faults["rewire_scope"].startswith("Unknown question id")


def test_every_fault_including_hidden_ones_at_once(wall_painting: MicroServiceSpec) -> None:
    answers = {**VALID, "wall_count": 1.5, "start_date": "2027-01-15", "room_type": "castle"}
    faults = _faults(wall_painting, answers)
    assert set(faults) == {"wall_count", "start_date", "room_type"}


@pytest.mark.parametrize("text", ["a\x00b", "half \ud800 pair"])
def test_text_postgresql_cannot_store_is_a_field_error(
    wall_painting: MicroServiceSpec, text: str
) -> None:
    faults = _faults(wall_painting, {**VALID, "details": text})
    assert faults == {"details": "Text must not contain NUL characters or unpaired surrogates."}


def test_thousands_of_unknown_keys_list_a_bounded_few_with_the_count(
    wall_painting: MicroServiceSpec,
) -> None:
    flood = {f"k{i:05}": 1 for i in range(6_500)}
    with pytest.raises(BadUserInputError) as caught:
        validate_answers(wall_painting, {**VALID, **flood, "wall_count": 99})
    faults = caught.value.fields
    assert len(faults) == MAX_FIELD_ERRORS
    # The question's own fault is not pushed out by the unknown keys.
    assert faults["wall_count"] == "Must be at most 50 walls."
    assert f"are not valid (the first {MAX_FIELD_ERRORS} are listed)" in str(caught.value)
    assert str(caught.value).startswith(f"{6_500 + 1} answer(s)")
    assert caught.value.unlisted_fields == 6_500 + 1 - MAX_FIELD_ERRORS


def test_a_long_unknown_key_is_echoed_cut_short(wall_painting: MicroServiceSpec) -> None:
    faults = _faults(wall_painting, {**VALID, "x" * 90_000: 1})
    (key,) = faults
    assert len(key) == MAX_ECHOED_KEY
    assert key.startswith("xxx")


def test_a_global_question_id_answers_as_its_key(wall_painting: MicroServiceSpec) -> None:
    # Clients that key answers by `Question.id` (unique across services) are accepted; the job
    # stores the key, so that old and new jobs read alike.
    answers = {f"wall-painting/{key}": value for key, value in VALID.items()}
    assert validate_answers(wall_painting, answers) == VALID
    mixed = {**VALID, "wall-painting/wall_count": VALID["wall_count"]}
    del mixed["wall_count"]
    assert validate_answers(wall_painting, mixed) == VALID


def test_another_services_id_or_both_forms_are_refused(wall_painting: MicroServiceSpec) -> None:
    foreign = {**VALID, "wallpaper-hanging/wall_count": 3}
    assert _faults(wall_painting, foreign) == {
        "wallpaper-hanging/wall_count": (
            "Unknown question id for micro service 'wall-painting' "
            "(not asked, or no longer asked, for this service)."
        )
    }
    twice = {**VALID, "wall-painting/wall_count": VALID["wall_count"]}
    assert list(_faults(wall_painting, twice)) == ["wall_count"]
