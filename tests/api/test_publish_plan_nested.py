"""The compiled publishJob plan below the root field (`job { location photos microService }`,
resolvers awaited) and for literal inputs: byte-identical to the general path for the owner key,
a customer, a key without jobs:write, refusals and a fault inside the nested selection, and the
general executor not called when the plan answers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import asyncpg
import orjson
import pytest
from strawberry import Schema

from api.plans.resolved import ResolverPlan
from tests.media.samples import png
from tests.support import PLANS_ON, AppHarness, general_and_planned
from tests.support.identity import TestIssuer
from tests.support.jobs import publish_input
from tests.support.keys import IssuedKey, issue_api_key
from tests.support.uploads import UploadHarness

MakeKey = Callable[..., Awaitable[IssuedKey]]
BASE: dict[str, Any] = {"migrate_on_start": False, "seed_on_start": False, **PLANS_ON}
NESTED = """mutation Publish($input: PublishJobInput!) {
  publishJob(input: $input) {
    degraded
    job {
      id microId status
      location { postcode district area addressLine }
      photos { id url thumbnailUrl width height }
      microService { slug }
      contact { name email }
    }
  }
}"""
LOCATION = {"postcode": "EC1A 1BB", "addressLine": "7 Cobol Close"}
CONTACT = {"name": "Grace Hopper", "email": "grace@example.com"}


def literal(
    idempotency_key: str, postcode: str = "EC1A 1BB", service: str = "wall-painting"
) -> str:
    """publishJob with its whole input written into the text (answers in a JSON literal)."""
    answers = (
        '{room_type: "bedroom", wall_count: 4, wall_condition: "good", paint_supplied: false, '
        'property_type: "flat_apartment", floor_level: "ground", parking: "driveway", '
        'start_timing: "flexible", budget_range: "under_250"}'
    )
    return (
        "mutation Publish {\n"
        f'  publishJob(input: {{microId: "{service}", answers: {answers},\n'
        f'    location: {{postcode: "{postcode}", addressLine: "7 Cobol Close"}},\n'
        f'    idempotencyKey: "{idempotency_key}"}}) {{\n'
        "    degraded job { id microId location { postcode addressLine } photos { id } }\n"
        "  }\n}"
    )


class ExecutorSpy:
    """Counts the general executor's runs (the schema's `execute`), the one step a plan skips."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        execute = Schema.execute

        async def counted(schema: Schema, *args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return await execute(schema, *args, **kwargs)

        monkeypatch.setattr(Schema, "execute", counted)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> ExecutorSpy:
    return ExecutorSpy(monkeypatch)


def _both(
    database_url: str, **overrides: Any
) -> AbstractAsyncContextManager[tuple[AppHarness, AppHarness]]:
    return general_and_planned(database_url, "compiled_publish", **BASE, **overrides)


async def _post(
    api: AppHarness,
    query: str,
    variables: dict[str, Any] | None,
    headers: dict[str, str],
    request_id: str = "rid-nested",
) -> bytes:
    response = await api.client.post(
        "/graphql",
        json={"query": query, "variables": variables, "operationName": "Publish"},
        headers={**headers, "X-Request-ID": request_id},
    )
    assert response.status_code == 200, response.text
    return response.content


async def _learned(api: AppHarness, headers: dict[str, str], variables: dict[str, Any]) -> None:
    body = orjson.loads(await _post(api, NESTED, variables, headers))
    assert "errors" not in body, body
    assert isinstance(api.http_state.plans.get(NESTED, "Publish"), ResolverPlan)


async def _alike(
    general: AppHarness,
    planned: AppHarness,
    spy: ExecutorSpy,
    query: str,
    variables: dict[str, Any] | None,
    headers: dict[str, str],
) -> bytes:
    """The plan's answer, then the general path's (the same job again, by its idempotency key):
    equal bytes, and the plan's without the general executor. (The plan first: the documents
    the general path parses are kept process-wide, and a text already parsed is not lifted.)"""
    before = spy.calls
    answer = await _post(planned, query, variables, headers)
    assert spy.calls == before, "the general executor ran: the plan did not answer"
    assert answer == await _post(general, query, variables, headers)
    return answer


async def test_the_owner_key_sees_location_and_photos_alike(
    database_url: str, make_api_key: MakeKey, spy: ExecutorSpy
) -> None:
    writer = await make_api_key("jobs:write")
    async with _both(database_url) as (general, planned):
        await _learned(planned, writer.headers, publish_input(location=LOCATION))
        uploads = UploadHarness(planned)
        photos = [str(await uploads.upload(writer, png(), f"p{n}.png")) for n in range(2)]
        variables = publish_input(f"nested-{uuid.uuid4()}", location=LOCATION, photo_ids=photos)
        answer = orjson.loads(
            await _alike(general, planned, spy, NESTED, variables, writer.headers)
        )
        job = answer["data"]["publishJob"]["job"]
        assert [photo["id"] for photo in job["photos"]] == photos
        assert job["location"]["addressLine"] == LOCATION["addressLine"]
        assert job["microService"] == {"slug": "wall-painting"}


async def test_a_customer_sees_their_own_job_alike(
    database_url: str, oidc_issuer: TestIssuer, spy: ExecutorSpy
) -> None:
    grace = {"Authorization": f"Bearer {oidc_issuer.token(f'grace-{uuid.uuid4()}')}"}
    async with _both(database_url, oidc_issuer=oidc_issuer) as (general, planned):
        learn = publish_input(location=LOCATION)
        learn["input"]["contact"] = CONTACT
        await _learned(planned, grace, learn)
        variables = publish_input(f"customer-{uuid.uuid4()}", location=LOCATION)
        variables["input"]["contact"] = CONTACT
        answer = orjson.loads(await _alike(general, planned, spy, NESTED, variables, grace))
        assert answer["data"]["publishJob"]["job"]["contact"] == CONTACT


@pytest.mark.parametrize(
    "change",
    [
        {"location": {"postcode": "NOT A POSTCODE"}},
        {"microId": "no-such-service"},
        {"photoIds": [str(uuid.UUID(int=7))]},
    ],
)
async def test_a_refusal_with_a_nested_selection_is_alike(
    database_url: str, make_api_key: MakeKey, spy: ExecutorSpy, change: dict[str, Any]
) -> None:
    writer = await make_api_key("jobs:write")
    async with _both(database_url) as (general, planned):
        await _learned(planned, writer.headers, publish_input(location=LOCATION))
        variables = publish_input(location=LOCATION)
        variables["input"].update(change)
        answer = await _alike(general, planned, spy, NESTED, variables, writer.headers)
        assert b"BAD_USER_INPUT" in answer


async def test_a_key_without_jobs_write_is_refused_alike(
    database_url: str, make_api_key: MakeKey, spy: ExecutorSpy
) -> None:
    writer, reader = await make_api_key("jobs:write"), await make_api_key("jobs:read")
    async with _both(database_url) as (general, planned):
        await _learned(planned, writer.headers, publish_input(location=LOCATION))
        variables = publish_input(location=LOCATION)
        answer = await _alike(general, planned, spy, NESTED, variables, reader.headers)
        assert b"FORBIDDEN" in answer


@asynccontextmanager
async def _photos_unreadable(database_url: str) -> AsyncIterator[None]:
    """The photos' table gone from under the running apps: their photo reads fail in
    PostgreSQL, after the job itself is stored."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("ALTER TABLE uploads RENAME TO uploads_away")
        yield
    finally:
        await conn.execute("ALTER TABLE uploads_away RENAME TO uploads")
        await conn.close()


async def test_a_fault_inside_the_nested_selection_is_alike(
    seeded_database_url: str, make_api_key: MakeKey, spy: ExecutorSpy
) -> None:
    async with _both(seeded_database_url) as (general, planned):
        async with planned.app_state.pool.acquire() as conn:
            writer = await issue_api_key(conn, name="nested fault", scopes=["jobs:write"])
        await _learned(planned, writer.headers, publish_input(location=LOCATION))
        async with _photos_unreadable(seeded_database_url):
            variables = publish_input(f"fault-{uuid.uuid4()}", location=LOCATION)
            answer = orjson.loads(
                await _alike(general, planned, spy, NESTED, variables, writer.headers)
            )
    # photos is non-null, and so are job and publishJob: the error nulls the whole answer.
    assert answer["data"] is None
    assert answer["errors"][0]["path"] == ["publishJob", "job", "photos"]


async def test_a_literal_publish_is_answered_by_the_plan_as_sent(
    database_url: str, make_api_key: MakeKey, spy: ExecutorSpy
) -> None:
    writer = await make_api_key("jobs:write")
    async with _both(database_url) as (general, planned):
        # Twice as sent, by the general path: the second teaches the lifted form and its plan.
        for n in range(2):
            body = orjson.loads(
                await _post(planned, literal(f"learn-{n}-{uuid.uuid4()}"), None, writer.headers)
            )
            assert "errors" not in body, body
        kept = await _alike(
            general, planned, spy, literal(f"lit-{uuid.uuid4()}"), None, writer.headers
        )
        assert b"EC1A 1BB" in kept
        # A refusal: the error's locations are the text's as sent (a longer literal before).
        refused = literal(f"a-much-longer-idempotency-key-{uuid.uuid4()}", "NOT A POSTCODE")
        answer = orjson.loads(await _alike(general, planned, spy, refused, None, writer.headers))
        assert answer["errors"][0]["locations"] == [{"line": 2, "column": 3}]
        assert "__l" not in orjson.dumps(answer).decode()
        # Another micro service (a literal the plan's text holds as a variable) and a
        # validation error (a literal of the wrong kind: never lifted) also answer alike.
        other = literal(f"other-{uuid.uuid4()}", service="no-such-service")
        await _alike(general, planned, spy, other, None, writer.headers)
        invalid = literal("k").replace('microId: "wall-painting"', "microId: 5")
        expected = await _post(general, invalid, None, writer.headers)
        assert await _post(planned, invalid, None, writer.headers) == expected
