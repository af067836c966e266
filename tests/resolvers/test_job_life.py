"""A job's life through the API, with API keys: contact and description, updateJob with its
versions, cancelJob and closeJob, who may act, and the audit they leave."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.support import AppHarness, error_codes
from tests.support.jobs import publish_input, wall_painting_answers
from tests.support.keys import IssuedKey

MakeKey = Callable[..., Awaitable[IssuedKey]]
JOB_FIELDS = """
id status version updatedAt createdAt description outcome answers
contact { name email phone preferredContact }
location { postcode addressLine }
"""
PUBLISH = f"""
mutation($input: PublishJobInput!) {{ publishJob(input: $input) {{ job {{ {JOB_FIELDS} }} }} }}
"""
READ = f"query($id: UUID!) {{ job(id: $id) {{ {JOB_FIELDS} }} }}"
UPDATE = f"""
mutation($input: UpdateJobInput!) {{ updateJob(input: $input) {{ job {{ {JOB_FIELDS} }} }} }}
"""
CANCEL = "mutation($input: CancelJobInput!) { cancelJob(input: $input) { job { status version } } }"
CLOSE = """
mutation($input: CloseJobInput!) { closeJob(input: $input) { job { status outcome version } } }
"""
CONTACT = {"name": "Ada Lovelace", "email": "Ada@Example.COM", "phone": "07700 900123"}
ADDRESS = "Flat 2, 10 Downing Street"


def _with(**fields: Any) -> dict[str, Any]:
    variables = publish_input(location={"postcode": "SW1A 1AA", "addressLine": ADDRESS})
    variables["input"].update(fields)
    return variables


async def _publish(api: AppHarness, key: IssuedKey, **fields: Any) -> dict[str, Any]:
    body = await api.graphql(PUBLISH, _with(**fields), headers=key.headers)
    assert "errors" not in body, body
    job: dict[str, Any] = body["data"]["publishJob"]["job"]
    return job


async def _audit(api: AppHarness, job_id: str) -> list[tuple[Any, ...]]:
    rows = await api.app_state.pool.fetch(
        "SELECT actor_kind, actor_id, action, changed, from_version, to_version"
        " FROM job_audit WHERE job_id = $1 ORDER BY id",
        uuid.UUID(job_id),
    )
    return [tuple(r) for r in rows]


async def test_contact_and_description_are_stored_and_shown_to_the_publisher_only(
    api: AppHarness, make_api_key: MakeKey
) -> None:
    publisher, reader = await make_api_key("jobs:write"), await make_api_key("jobs:read")
    job = await _publish(api, publisher, contact=CONTACT, description=" Mind the cat. ")
    assert job["contact"] == {
        "name": "Ada Lovelace",
        "email": "Ada@example.com",
        "phone": "+447700900123",
        "preferredContact": "ANY",
    }
    assert (job["description"], job["version"], job["status"]) == ("Mind the cat.", 1, "PUBLISHED")
    assert job["updatedAt"] == job["createdAt"]
    stored = await api.app_state.pool.fetchrow(
        "SELECT contact_phone, contact_email FROM jobs WHERE id = $1", uuid.UUID(job["id"])
    )
    assert stored is not None
    assert tuple(stored) == ("+447700900123", "Ada@example.com")
    read = (await api.graphql(READ, {"id": job["id"]}, headers=reader.headers))["data"]["job"]
    assert read["contact"] is None
    assert read["location"]["addressLine"] is None
    assert read["description"] == "Mind the cat."
    assert await _audit(api, job["id"]) == [("api_key", publisher.id, "published", [], None, 1)]


async def test_contact_faults_are_named_and_nothing_is_stored(
    api: AppHarness, jobs_writer_key: IssuedKey
) -> None:
    before = await api.app_state.pool.fetchval("SELECT count(*) FROM jobs")
    bad = {"name": "Ada", "email": "ada@", "phone": "12345", "preferredContact": "PHONE"}
    body = await api.graphql(PUBLISH, _with(contact=bad), headers=jobs_writer_key.headers)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert list(body["errors"][0]["extensions"]["fields"]) == ["contact.email", "contact.phone"]
    long = await api.graphql(
        PUBLISH, _with(description="x" * 2001), headers=jobs_writer_key.headers
    )
    assert list(long["errors"][0]["extensions"]["fields"]) == ["description"]
    assert await api.app_state.pool.fetchval("SELECT count(*) FROM jobs") == before


async def test_an_idempotency_key_names_one_input_customer_ref_and_contact_included(
    api: AppHarness, jobs_writer_key: IssuedKey
) -> None:
    key = f"retry-{uuid.uuid4()}"
    first = await _publish(api, jobs_writer_key, idempotencyKey=key, customerRef="c-1")
    again = await _publish(api, jobs_writer_key, idempotencyKey=key, customerRef="c-1")
    assert again["id"] == first["id"]
    for change in ({"customerRef": "c-2"}, {"customerRef": "c-1", "contact": CONTACT}):
        body = await api.graphql(
            PUBLISH, _with(idempotencyKey=key, **change), headers=jobs_writer_key.headers
        )
        assert body["errors"][0]["extensions"]["reason"] == "IDEMPOTENCY_KEY_REUSED"


async def test_update_versions_the_job_and_audits_field_names_only(
    api: AppHarness, make_api_key: MakeKey
) -> None:
    publisher, stranger = await make_api_key("jobs:write"), await make_api_key("jobs:write")
    job = await _publish(api, publisher, contact=CONTACT)
    change = {
        "id": job["id"],
        "expectedVersion": 1,
        "answers": wall_painting_answers(wall_count=2),
        "description": "Two walls only.",
        "contact": {**CONTACT, "email": "ada@example.org", "preferredContact": "EMAIL"},
    }
    body = await api.graphql(UPDATE, {"input": change}, headers=publisher.headers)
    updated = body["data"]["updateJob"]["job"]
    assert (updated["version"], updated["description"]) == (2, "Two walls only.")
    assert updated["answers"]["wall_count"] == 2
    assert updated["contact"]["email"] == "ada@example.org"
    assert updated["location"]["addressLine"] == ADDRESS  # left out: stays
    assert updated["updatedAt"] > updated["createdAt"]

    stale = await api.graphql(UPDATE, {"input": change}, headers=publisher.headers)
    assert error_codes(stale) == ["CONFLICT"]
    assert stale["errors"][0]["extensions"]["currentVersion"] == 2
    bad = {"id": job["id"], "answers": wall_painting_answers(wall_count=99)}
    refused = await api.graphql(UPDATE, {"input": bad}, headers=publisher.headers)
    fields = refused["errors"][0]["extensions"]["fields"]
    assert fields == {"wall_count": "Must be at most 50 walls."}
    # Another key, and an id that does not exist, read alike.
    for job_id, key in ((job["id"], stranger), (str(uuid.uuid4()), publisher)):
        for query, variables in (
            (UPDATE, {"input": {"id": job_id, "description": "mine now"}}),
            (CANCEL, {"input": {"id": job_id}}),
        ):
            answer = await api.graphql(query, variables, headers=key.headers)
            assert error_codes(answer) == ["NOT_FOUND"]
            assert answer["errors"][0]["message"] == "No such job."

    audit = await _audit(api, job["id"])
    assert audit[1] == (
        "api_key",
        publisher.id,
        "updated",
        ["answers", "description", "contact"],
        1,
        2,
    )
    assert "ada@example.org" not in str(audit)
    assert "Ada" not in str(audit)


async def test_cancel_and_close_end_a_job_for_good(
    api: AppHarness, jobs_writer_key: IssuedKey
) -> None:
    headers = jobs_writer_key.headers
    cancelled = await _publish(api, jobs_writer_key)
    body = await api.graphql(
        CANCEL, {"input": {"id": cancelled["id"], "reason": "Found someone"}}, headers=headers
    )
    assert body["data"]["cancelJob"]["job"] == {"status": "CANCELLED", "version": 2}
    for query, variables in (
        (UPDATE, {"input": {"id": cancelled["id"], "description": "again"}}),
        (CANCEL, {"input": {"id": cancelled["id"]}}),
        (CLOSE, {"input": {"id": cancelled["id"], "outcome": "HIRED"}}),
    ):
        assert error_codes(await api.graphql(query, variables, headers=headers)) == ["NOT_EDITABLE"]
    closed = await _publish(api, jobs_writer_key)
    body = await api.graphql(
        CLOSE, {"input": {"id": closed["id"], "outcome": "HIRED"}}, headers=headers
    )
    assert body["data"]["closeJob"]["job"] == {"status": "CLOSED", "outcome": "HIRED", "version": 2}
    assert [a[2] for a in await _audit(api, closed["id"])] == ["published", "closed"]


@pytest.mark.parametrize("reason", ["x" * 501, "bell\x07"])
async def test_a_cancel_reason_is_bounded(
    api: AppHarness, jobs_writer_key: IssuedKey, reason: str
) -> None:
    job = await _publish(api, jobs_writer_key)
    body = await api.graphql(
        CANCEL, {"input": {"id": job["id"], "reason": reason}}, headers=jobs_writer_key.headers
    )
    assert list(body["errors"][0]["extensions"]["fields"]) == ["reason"]
