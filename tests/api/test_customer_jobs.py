"""Customers' jobs with real access tokens from the development provider: publish with contact
details, read, change and cancel their own, see nobody else's, photos of their own, erase it
all; and what the server logs never holds their contact details."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.media.samples import png
from tests.support import AppHarness, error_codes, running_app
from tests.support.identity import TestIssuer
from tests.support.jobs import publish_input
from tests.support.keys import IssuedKey

MakeKey = Callable[..., Awaitable[IssuedKey]]
FIELDS = "id status version description contact { name email phone preferredContact }"
PUBLISH = f"""
mutation($input: PublishJobInput!) {{ publishJob(input: $input) {{ job {{ {FIELDS} }} }} }}
"""
READ = f"query($id: UUID!) {{ job(id: $id) {{ {FIELDS} location {{ addressLine }} }} }}"
MY_JOBS = "{ myJobs { totalCount edges { node { id photos { id } } } } }"
UPDATE = f"""
mutation($input: UpdateJobInput!) {{ updateJob(input: $input) {{ job {{ {FIELDS} }} }} }}
"""
CANCEL = "mutation($id: UUID!) { cancelJob(input: {id: $id}) { job { status version } } }"
ERASE = "mutation { eraseMyData }"
CONTACT = {"name": "Grace Hopper", "email": "grace@example.com", "phone": "07700 900461"}
ADDRESS = "7 Cobol Close"


@pytest.fixture
async def app(database_url: str, oidc_issuer: TestIssuer) -> AsyncIterator[AppHarness]:
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, oidc_issuer=oidc_issuer
    ) as harness:
        yield harness


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _input(**fields: Any) -> dict[str, Any]:
    variables = publish_input(location={"postcode": "EC1A 1BB", "addressLine": ADDRESS})
    variables["input"].update(fields)
    return variables


async def test_a_customer_publishes_and_runs_their_job_and_nobody_else_can(
    app: AppHarness, oidc_issuer: TestIssuer, make_api_key: MakeKey
) -> None:
    grace = _bearer(oidc_issuer.token(f"grace-{uuid.uuid4()}"))
    alan = _bearer(oidc_issuer.token(f"alan-{uuid.uuid4()}"))
    reader = await make_api_key("jobs:read")

    missing = await app.graphql(PUBLISH, _input(), headers=grace)
    assert missing["errors"][0]["extensions"]["fields"] == {
        "contact": "Contact details are required when a customer publishes a job."
    }
    bad = {**CONTACT, "email": "grace@@example", "phone": "0770"}
    refused = await app.graphql(PUBLISH, _input(contact=bad), headers=grace)
    assert list(refused["errors"][0]["extensions"]["fields"]) == ["contact.email", "contact.phone"]

    body = await app.graphql(
        PUBLISH,
        _input(contact=CONTACT, description="Gate code 1234", idempotencyKey="k1"),
        headers=grace,
    )
    job = body["data"]["publishJob"]["job"]
    assert job["contact"]["phone"] == "+447700900461"
    # The same idempotency key is another customer's own.
    other = await app.graphql(PUBLISH, _input(contact=CONTACT, idempotencyKey="k1"), headers=alan)
    assert other["data"]["publishJob"]["job"]["id"] != job["id"]

    own = (await app.graphql(READ, {"id": job["id"]}, headers=grace))["data"]["job"]
    assert own["contact"] == job["contact"]
    assert own["location"]["addressLine"] == ADDRESS
    seen = (await app.graphql(READ, {"id": job["id"]}, headers=reader.headers))["data"]["job"]
    assert seen["contact"] is None
    assert seen["location"]["addressLine"] is None
    assert await app.graphql(READ, {"id": job["id"]}, headers=alan) == {"data": {"job": None}}
    mine = (await app.graphql(MY_JOBS, headers=alan))["data"]["myJobs"]
    assert job["id"] not in str(mine)
    assert mine["totalCount"] == 1

    for query, variables in (
        (UPDATE, {"input": {"id": job["id"], "description": "mine"}}),
        (CANCEL, {"id": job["id"]}),
    ):
        assert error_codes(await app.graphql(query, variables, headers=alan)) == ["NOT_FOUND"]

    change = {"id": job["id"], "expectedVersion": 1, "description": "Gate code 4321"}
    updated = await app.graphql(UPDATE, {"input": change}, headers=grace)
    assert updated["data"]["updateJob"]["job"]["version"] == 2
    stale = await app.graphql(UPDATE, {"input": change}, headers=grace)
    assert stale["errors"][0]["extensions"] == {"code": "CONFLICT", "currentVersion": 2}
    cancelled = await app.graphql(CANCEL, {"id": job["id"]}, headers=grace)
    assert cancelled["data"]["cancelJob"]["job"] == {"status": "CANCELLED", "version": 3}
    after = await app.graphql(UPDATE, {"input": {**change, "expectedVersion": 3}}, headers=grace)
    assert error_codes(after) == ["NOT_EDITABLE"]
    audit = await app.app_state.pool.fetch(
        "SELECT actor_kind, action FROM job_audit WHERE job_id = $1 ORDER BY id",
        uuid.UUID(job["id"]),
    )
    assert [tuple(a) for a in audit] == [
        ("customer", "published"),
        ("customer", "updated"),
        ("customer", "cancelled"),
    ]


async def test_erasure_leaves_no_contact_and_keys_cannot_erase(
    app: AppHarness, oidc_issuer: TestIssuer, jobs_writer_key: IssuedKey
) -> None:
    ada = _bearer(oidc_issuer.token(f"ada-{uuid.uuid4()}"))
    upload = await app.client.post("/uploads", files={"file": ("p.png", png())}, headers=ada)
    assert upload.status_code == 201, upload.text
    contact = {**CONTACT, "email": f"ada-{uuid.uuid4().hex[:8]}@example.com"}
    body = await app.graphql(
        PUBLISH, _input(contact=contact, photoIds=[upload.json()["id"]]), headers=ada
    )
    job_id = uuid.UUID(body["data"]["publishJob"]["job"]["id"])
    photos = (await app.graphql(MY_JOBS, headers=ada))["data"]["myJobs"]["edges"][0]["node"]
    assert photos["photos"] == [{"id": upload.json()["id"]}]

    assert error_codes(await app.graphql(ERASE, headers=jobs_writer_key.headers)) == [
        "UNAUTHENTICATED"
    ]
    assert await app.graphql(ERASE, headers=ada) == {"data": {"eraseMyData": True}}
    assert await app.graphql(ERASE, headers=ada) == {"data": {"eraseMyData": True}}
    pool = app.app_state.pool
    held = await pool.fetchval(
        "SELECT count(*) FROM jobs"
        " WHERE contact_email = $1 OR (id = $2 AND address_line IS NOT NULL)",
        contact["email"],
        job_id,
    )
    assert held == 0
    row = await pool.fetchrow("SELECT status, customer_id FROM jobs WHERE id = $1", job_id)
    assert row is not None
    assert tuple(row) == ("CANCELLED", None)
    assert await pool.fetchval("SELECT count(*) FROM uploads WHERE job_id = $1", job_id) == 0
    assert (await app.graphql(MY_JOBS, headers=ada))["data"]["myJobs"]["totalCount"] == 0


async def test_contact_details_never_reach_the_log(
    app: AppHarness, oidc_issuer: TestIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = _bearer(oidc_issuer.token(f"log-{uuid.uuid4()}"))
    email, phone = "secret.person@example.com", "07700 900999"
    contact = {**CONTACT, "email": email, "phone": phone}
    body = await app.graphql(PUBLISH, _input(contact=contact), headers=token)
    job_id = body["data"]["publishJob"]["job"]["id"]
    await app.graphql(PUBLISH, _input(contact={**contact, "email": "x@"}), headers=token)
    await app.graphql(
        UPDATE,
        {"input": {"id": job_id, "contact": {**contact, "name": "S. Person"}}},
        headers=token,
    )
    await app.graphql(CANCEL, {"id": job_id}, headers=token)
    await app.graphql(ERASE, headers=token)
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for value in (email, "+447700900999", "900999", ADDRESS):
        assert value not in logged
