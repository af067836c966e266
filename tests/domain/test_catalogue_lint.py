import copy
import json
from typing import Any

import pytest

from config.database import DEFAULT_CATALOGUE_PATH
from domain.catalogue import Catalogue, parse_catalogue
from domain.catalogue_lint import label_problem, lint_catalogue


def test_the_real_catalogue_is_clean(catalogue: Catalogue) -> None:
    findings = lint_catalogue(catalogue)
    assert not findings, "\n".join(str(f) for f in findings)


def _question(qid: str, **fields: Any) -> dict[str, Any]:
    return {"id": qid, "label": f"What about {qid}?", "type": "text", "required": False, **fields}


def _catalogue(*questions: dict[str, Any], description: str = "A job.") -> dict[str, Any]:
    service = {
        "slug": "a-job",
        "name": "A job",
        "description": description,
        "questions": list(questions),
    }
    other = copy.deepcopy(service)
    other["slug"] = "b-job"
    other["description"] = "Another job."
    other["questions"] = [_question("anything_else")]
    return {
        "steps": [{"id": "job", "title": "The job"}],
        "categories": [
            {
                "slug": "c",
                "name": "C",
                "subcategories": [{"slug": "s", "name": "S", "micro_services": [service, other]}],
            }
        ],
    }


def _rules(raw: dict[str, Any]) -> list[str]:
    return [finding.rule for finding in lint_catalogue(parse_catalogue(raw))]


YES_NO = [{"value": "yes", "label": "Yes"}, {"value": "no", "label": "No"}]
WITH_OTHER = [{"value": "red", "label": "Red"}, {"value": "other", "label": "Something else"}]


def test_a_clean_small_catalogue_passes() -> None:
    assert _rules(_catalogue(_question("colour"))) == []


@pytest.mark.parametrize(
    ("label", "ok"),
    [
        ("How many walls need painting?", True),
        ("Is there a lift?", True),
        ("Describe it in a few words", True),
        ("List the jobs you need doing", True),
        ("Cables?", False),
        ("Why?", False),
        ("Fixing into what?", False),
        ("Preferred start date", False),
        ("Include the landing too?", False),
    ],
)
def test_labels_are_questions_or_instructions(label: str, ok: bool) -> None:
    assert (label_problem(label) is None) is ok


def test_fragment_label_is_found() -> None:
    assert _rules(_catalogue(_question("colour", label="Colour?"))) == ["label"]


def test_one_id_with_two_types_is_found() -> None:
    raw = _catalogue(_question("anything_else", type="boolean"))
    assert _rules(raw) == ["one-id-one-meaning"]


def test_one_id_with_two_option_sets_is_found() -> None:
    raw = _catalogue(_question("anything_else", type="single_select", options=YES_NO))
    raw["categories"][0]["subcategories"][0]["micro_services"][1]["questions"] = [
        _question(
            "anything_else",
            type="single_select",
            options=[*YES_NO, {"value": "maybe", "label": "Maybe"}],
        )
    ]
    assert "one-id-one-meaning" in _rules(raw)


def test_other_without_its_follow_up_is_found() -> None:
    colour = _question("colour", type="single_select", options=WITH_OTHER)
    assert _rules(_catalogue(colour)) == ["other-follow-up"]
    always = _question("colour_other")
    assert _rules(_catalogue(colour, always)) == ["other-follow-up"]
    follow_up = _question("colour_other", show_if=[{"question_id": "colour", "values": ["other"]}])
    assert _rules(_catalogue(colour, follow_up)) == []


def test_required_select_without_a_way_out_is_found() -> None:
    closed = _question("colour", type="single_select", required=True, options=YES_NO)
    assert _rules(_catalogue(closed)) == ["way-out"]
    assert _rules(_catalogue({**closed, "allow_not_sure": True})) == []
    assert _rules(_catalogue({**closed, "exhaustive": True})) == []
    assert _rules(_catalogue({**closed, "required": False})) == []


def test_number_without_unit_or_bounds_is_found() -> None:
    count = _question("wall_count", type="number", min=1, max=50)
    assert _rules(_catalogue(count)) == ["number-bounds"]
    assert _rules(_catalogue({**count, "unit": "walls", "max": None})) == ["number-bounds"]
    assert _rules(_catalogue({**count, "unit": "walls"})) == []


def test_service_without_description_is_found() -> None:
    assert _rules(_catalogue(_question("colour"), description=" ")) == ["description"]


def test_lint_reads_the_file_the_server_loads() -> None:
    raw = json.loads(DEFAULT_CATALOGUE_PATH.read_text())
    assert lint_catalogue(parse_catalogue(raw)) == []


def test_one_id_with_an_option_worded_two_ways_is_found() -> None:
    raw = _catalogue(_question("anything_else", type="single_select", options=YES_NO))
    raw["categories"][0]["subcategories"][0]["micro_services"][1]["questions"] = [
        _question(
            "anything_else",
            type="single_select",
            options=[{"value": "yes", "label": "Yes please"}, {"value": "no", "label": "No"}],
        )
    ]
    assert _rules(raw) == ["one-id-one-meaning"]
