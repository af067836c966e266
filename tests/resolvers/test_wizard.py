import pytest

from tests.support import AppHarness

QUERY = """
query($p: [String!]!) {
  wizardQuestions(categories: $p) { microId microUuid questions { key type } }
}
"""


async def test_fixed_path_answers_with_questions_and_uuid(api: AppHarness) -> None:
    body = await api.graphql(QUERY, {"p": ["painting", "interior", "wall-painting"]})
    wizard = body["data"]["wizardQuestions"]
    assert wizard["microId"] == "wall-painting"
    lookup = await api.graphql('{ microService(slug: "wall-painting") { id } }')
    assert wizard["microUuid"] == lookup["data"]["microService"]["id"]
    types = {q["key"]: q["type"] for q in wizard["questions"]}
    assert types["room_type"] == "SINGLE_SELECT"
    assert types["wall_count"] == "NUMBER"
    assert {"property_type", "start_timing", "budget_range"} <= set(types)


@pytest.mark.parametrize("path", [["wall-painting"], ["painting", "wall-painting"]])
async def test_shorter_paths_are_accepted(api: AppHarness, path: list[str]) -> None:
    body = await api.graphql(QUERY, {"p": path})
    assert body["data"]["wizardQuestions"]["microId"] == "wall-painting"


@pytest.mark.parametrize(
    "path",
    [[], ["plumbing", "interior", "wall-painting"], ["a", "painting", "interior", "wall-painting"]],
)
async def test_inconsistent_paths_are_bad_user_input(api: AppHarness, path: list[str]) -> None:
    body = await api.graphql(QUERY, {"p": path})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_unknown_micro_service_is_not_found(api: AppHarness) -> None:
    body = await api.graphql(QUERY, {"p": ["painting", "interior", "moon-painting"]})
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "moon-painting" in body["errors"][0]["message"]


STEPPED = """
query($p: [String!]!) {
  wizardQuestions(categories: $p) {
    description
    steps { key title questionIds }
    questions { key allowNotSure help placeholder showIf { questionId values } }
  }
}
"""


async def test_wizard_gives_steps_description_and_branching(api: AppHarness) -> None:
    body = await api.graphql(STEPPED, {"p": ["heating", "boilers", "boiler-repair"]})
    wizard = body["data"]["wizardQuestions"]
    assert wizard["description"]
    steps = wizard["steps"]
    assert [s["title"] for s in steps] == ["The job", "The property", "Access", "When and budget"]
    questions = {q["key"]: q for q in wizard["questions"]}
    # Every question is in exactly one step, and the steps keep the questions' order.
    assert [qid for s in steps for qid in s["questionIds"]] == [
        q["key"] for q in wizard["questions"]
    ]
    assert questions["error_code"]["showIf"] == [
        {"questionId": "boiler_fault", "values": ["error_code"]}
    ]
    assert questions["boiler_fault"]["showIf"] == []
    assert questions["under_warranty"]["allowNotSure"] is True
    assert questions["boiler_model"]["allowNotSure"] is False
    assert questions["gas_emergency_called"]["help"]
    assert questions["boiler_model"]["placeholder"]


SHARED = """
query($p: [String!]!) {
  wizardQuestions(categories: $p) {
    steps { id key questionIds }
    questions { id key label max showIf { questionId } }
  }
}
"""


async def test_question_and_step_ids_are_unique_across_services(api: AppHarness) -> None:
    # Normalising client caches (Apollo's, urql's) take `id` to name one object: a key that two
    # services share must not make one service's question stand for the other's.
    painting = (await api.graphql(SHARED, {"p": ["wall-painting"]}))["data"]["wizardQuestions"]
    papering = (await api.graphql(SHARED, {"p": ["wallpaper-hanging"]}))["data"]["wizardQuestions"]
    painted = {q["key"]: q for q in painting["questions"]}
    papered = {q["key"]: q for q in papering["questions"]}
    shared = set(painted) & set(papered)
    assert "wall_count" in shared
    for key in shared:
        assert painted[key]["id"] == f"wall-painting/{key}"
        assert papered[key]["id"] == f"wallpaper-hanging/{key}"
    assert painted["wall_count"]["label"] != papered["wall_count"]["label"]
    assert painting["steps"][0] == {
        "id": "wall-painting/job",
        "key": "job",
        "questionIds": painting["steps"][0]["questionIds"],
    }
    # What answers, showIf and questionIds name is the key, as before.
    assert set(painting["steps"][0]["questionIds"]) <= set(painted)
