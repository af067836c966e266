import json
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from config.database import DEFAULT_CATALOGUE_PATH
from tests.support import AppHarness, running_app
from tests.support.jobs import EXAMPLE_LOCATION, WALL_PAINTING_ANSWERS, count_jobs
from tests.support.keys import IssuedKey, issue_api_key

PUBLISH = """
mutation Publish($i: PublishJobInput!) {
  publishJob(input: $i) {
    job { id microId microUuid status createdAt answers microService { id slug } }
  }
}
"""
READ = """
query($id: UUID!) { job(id: $id) { id microId microUuid answers status microService { slug } } }
"""


async def _publish(api: AppHarness, key: IssuedKey, **fields: Any) -> dict[str, Any]:
    return await api.graphql(
        PUBLISH,
        {"i": {"microId": "wall-painting", "location": EXAMPLE_LOCATION, **fields}},
        headers=key.headers,
    )


async def test_publish_stores_both_identifiers_and_reads_back(
    api: AppHarness, jobs_writer_key: IssuedKey
) -> None:
    body = await _publish(api, jobs_writer_key, answers=WALL_PAINTING_ANSWERS)
    job = body["data"]["publishJob"]["job"]
    assert job["microId"] == "wall-painting"
    assert job["microUuid"] == job["microService"]["id"]
    assert job["status"] == "PUBLISHED"
    assert job["answers"] == WALL_PAINTING_ANSWERS

    read = await api.graphql(READ, {"id": job["id"]}, headers=jobs_writer_key.headers)
    assert read["data"]["job"]["microUuid"] == job["microUuid"]
    assert read["data"]["job"]["answers"] == WALL_PAINTING_ANSWERS


async def test_answers_keyed_by_global_question_ids_are_stored_by_key(
    api: AppHarness, jobs_writer_key: IssuedKey
) -> None:
    answers = {f"wall-painting/{key}": value for key, value in WALL_PAINTING_ANSWERS.items()}
    body = await _publish(api, jobs_writer_key, answers=answers)
    assert body["data"]["publishJob"]["job"]["answers"] == WALL_PAINTING_ANSWERS


async def test_matching_micro_uuid_is_accepted(api: AppHarness, jobs_writer_key: IssuedKey) -> None:
    uuid = (await api.graphql('{ microService(slug: "wall-painting") { id } }'))["data"][
        "microService"
    ]["id"]
    body = await _publish(api, jobs_writer_key, microUuid=uuid, answers=WALL_PAINTING_ANSWERS)
    assert body["data"]["publishJob"]["job"]["microUuid"] == uuid


@pytest.mark.parametrize(
    ("change", "field", "message_start"),
    [
        ({"wall_count": None}, "wall_count", "This question is required"),
        ({"wall_count": "four"}, "wall_count", "Expected a number"),
        ({"room_type": "castle"}, "room_type", "'castle' is not an offered option"),
        ({"wall_count": 51}, "wall_count", "Must be at most 50"),
        ({"favourite_colour": "red"}, "favourite_colour", "Unknown question id"),
        ({"wall_count": 1.5}, "wall_count", "Expected a whole number"),
        ({"start_date": "2027-01-15"}, "start_date", "Not asked when start_timing is flexible"),
        ({"start_timing": "specific_date"}, "start_date", "This question is required"),
        (
            {"start_timing": "specific_date", "start_date": "20261130"},
            "start_date",
            "Expected a date as YYYY-MM-DD",
        ),
        (
            {"start_timing": "specific_date", "start_date": "0001-01-01"},
            "start_date",
            "Must be between 1900-01-01 and 2100-12-31",
        ),
        ({"paint_supplied": "maybe"}, "paint_supplied", "Expected true or false"),
    ],
)
async def test_each_validation_fault_is_reported_and_nothing_is_stored(
    api: AppHarness,
    database_url: str,
    jobs_writer_key: IssuedKey,
    change: dict[str, Any],
    field: str,
    message_start: str,
) -> None:
    before = await count_jobs(database_url)
    body = await _publish(api, jobs_writer_key, answers={**WALL_PAINTING_ANSWERS, **change})
    error = body["errors"][0]
    assert body["data"] is None
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert list(error["extensions"]["fields"]) == [field]
    assert error["extensions"]["fields"][field].startswith(message_start)
    assert await count_jobs(database_url) == before


async def test_unknown_micro_id_is_bad_user_input(
    api: AppHarness, jobs_writer_key: IssuedKey
) -> None:
    body = await api.graphql(
        PUBLISH,
        {"i": {"microId": "moon-painting", "answers": {}, "location": EXAMPLE_LOCATION}},
        headers=jobs_writer_key.headers,
    )
    assert body["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "fields": {"microId": "No micro service has this slug."},
    }


async def test_mismatched_micro_uuid_is_bad_user_input(
    api: AppHarness, database_url: str, jobs_writer_key: IssuedKey
) -> None:
    other = (await api.graphql('{ microService(slug: "ceiling-painting") { id } }'))["data"][
        "microService"
    ]["id"]
    before = await count_jobs(database_url)
    body = await _publish(api, jobs_writer_key, microUuid=other, answers=WALL_PAINTING_ANSWERS)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "microUuid" in body["errors"][0]["extensions"]["fields"]
    assert await count_jobs(database_url) == before


async def test_job_that_does_not_exist_is_null(api: AppHarness, jobs_writer_key: IssuedKey) -> None:
    body = await api.graphql(
        READ, {"id": "00000000-0000-4000-8000-000000000000"}, headers=jobs_writer_key.headers
    )
    assert body == {"data": {"job": None}}


@pytest.fixture
async def unseeded_row_db(seeded_database_url: str) -> tuple[str, IssuedKey]:
    """A database whose catalogue lacks the wall-painting row while the file still has it."""
    conn = await asyncpg.connect(seeded_database_url)
    try:
        await conn.execute("DELETE FROM micro_services WHERE slug = 'wall-painting'")
        key = await issue_api_key(conn, name="slug-only test", scopes=["jobs:write"])
    finally:
        await conn.close()
    return seeded_database_url, key


async def test_questions_without_catalogue_row_store_a_slug_only_job(
    unseeded_row_db: tuple[str, IssuedKey],
) -> None:
    database_url, key = unseeded_row_db
    async with running_app(database_url, migrate_on_start=False, seed_on_start=False) as api:
        body = await _publish(api, key, answers=WALL_PAINTING_ANSWERS)
        job = body["data"]["publishJob"]["job"]
        assert job["microUuid"] is None
        assert job["microService"] is None
        read = await api.graphql(READ, {"id": job["id"]}, headers=key.headers)
        assert read["data"]["job"]["microId"] == "wall-painting"
        assert read["data"]["job"]["microUuid"] is None
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow("SELECT micro_id, micro_uuid FROM jobs")
    finally:
        await conn.close()
    assert row is not None
    assert (row["micro_id"], row["micro_uuid"]) == ("wall-painting", None)


async def test_rollback_switch_stores_jobs_slug_only_without_any_lookup(
    database_url: str, jobs_writer_key: IssuedKey
) -> None:
    async with running_app(
        database_url,
        migrate_on_start=False,
        seed_on_start=False,
        cache_warm_up=False,
        job_uuids=False,
    ) as api:
        api.statements.clear()
        body = await api.graphql(
            "mutation($i: PublishJobInput!) "
            "{ publishJob(input: $i) { degraded job { id microUuid } } }",
            {
                "i": {
                    "microId": "wall-painting",
                    "answers": WALL_PAINTING_ANSWERS,
                    "location": EXAMPLE_LOCATION,
                }
            },
            headers=jobs_writer_key.headers,
        )
        assert api.statements.lookups == []  # publishing itself looked nothing up
        job = body["data"]["publishJob"]["job"]
        assert job["microUuid"] is None
        assert body["data"]["publishJob"]["degraded"] is True
        conn = await asyncpg.connect(database_url)
        try:
            stored = await conn.fetchval("SELECT micro_uuid FROM jobs WHERE id = $1", job["id"])
        finally:
            await conn.close()
        assert stored is None


# Answers as a client built them for the catalogue's first version of `full-rewire`.
OLD_SHAPE_FULL_REWIRE = {
    "bedroom_count": 3,
    "rewire_scope": "full",
    "occupied_during": True,
    "flooring_type": "floorboards",
    "property_type": "semi_detached_house",
    "floor_level": "ground",
    "parking": "driveway",
    "start_timing": "emergency_asap",
    "budget_range": "over_10000",
}


async def test_old_shape_answers_get_per_field_errors_not_a_500(
    api: AppHarness, database_url: str, jobs_writer_key: IssuedKey
) -> None:
    before = await count_jobs(database_url)
    body = await api.graphql(
        PUBLISH,
        {
            "i": {
                "microId": "full-rewire",
                "answers": OLD_SHAPE_FULL_REWIRE,
                "location": EXAMPLE_LOCATION,
            }
        },
        headers=jobs_writer_key.headers,
    )
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    fields = error["extensions"]["fields"]
    for retired in ("rewire_scope", "floor_level", "start_timing", "budget_range"):
        assert fields[retired].startswith("Unknown question id"), retired
    # What the new shape asks and the old one lacked is named too, in the same answer.
    for asked in ("property_age", "project_start", "budget_large"):
        assert fields[asked] == "This question is required.", asked
    assert await count_jobs(database_url) == before


async def test_retired_micro_service_takes_no_new_jobs(
    database_url: str, jobs_writer_key: IssuedKey, tmp_path: Path
) -> None:
    raw = json.loads(DEFAULT_CATALOGUE_PATH.read_text())
    for category in raw["categories"]:
        for subcategory in category["subcategories"]:
            for service in subcategory["micro_services"]:
                if service["slug"] == "wall-painting":
                    service["active"] = False
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(raw))
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, catalogue_path=path
    ) as api:
        body = await _publish(api, jobs_writer_key, answers=WALL_PAINTING_ANSWERS)
    assert body["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "fields": {"microId": "This micro service is no longer offered."},
    }


async def test_a_400_digit_integer_literal_is_a_field_error(
    api: AppHarness, jobs_writer_key: IssuedKey
) -> None:
    # In the document itself, where the JSON scalar turns the literal into a Python int.
    answers = ", ".join(
        f"{key}: {json.dumps(value)}"
        for key, value in {**WALL_PAINTING_ANSWERS, "wall_count": 0}.items()
    ).replace("wall_count: 0", f"wall_count: {'9' * 400}")
    mutation = (
        'mutation { publishJob(input: {microId: "wall-painting", answers: {'
        + answers
        + '}, location: {postcode: "SW1A 1AA"}}) { job { id } } }'
    )
    body = await api.graphql(mutation, headers=jobs_writer_key.headers)
    assert body["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "fields": {"wall_count": "Must be at most 50 walls."},
    }


async def test_an_error_answer_is_not_larger_than_a_flood_of_unknown_answer_keys(
    api: AppHarness, jobs_writer_key: IssuedKey
) -> None:
    flood = {f"q{i:05}": 1 for i in range(6_500)}
    payload = {
        "query": PUBLISH,
        "variables": {
            "i": {
                "microId": "wall-painting",
                "location": EXAMPLE_LOCATION,
                "answers": {**WALL_PAINTING_ANSWERS, **flood},
            }
        },
    }
    request = json.dumps(payload).encode()
    assert len(request) > 80_000
    for _ in range(2):  # the general path, then whatever a second sending takes
        response = await api.client.post(
            "/graphql",
            content=request,
            headers={**jobs_writer_key.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 200
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert len(error["extensions"]["fields"]) == 20
        assert error["message"].startswith("6500 answer(s)")
        assert len(response.content) < 10_000
