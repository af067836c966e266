"""The compiled publishJob plan: which documents get one, that it answers (and fails) exactly as
the general path does, and that it steps aside for input it cannot read as graphql-core would."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import orjson
import pytest
from graphql import parse

from api.plans import compile_plan
from api.plans.resolved import ResolverPlan
from tests.support import PLANS_ON, AppHarness, general_and_planned, running_app
from tests.support.jobs import EXAMPLE_LOCATION, WALL_PAINTING_ANSWERS, count_jobs
from tests.support.keys import IssuedKey
from tests.support.proxy import proxy_to

# Plans on in both of `make test`'s runs: these tests are about them.
BASE: dict[str, Any] = {"migrate_on_start": False, "seed_on_start": False, **PLANS_ON}
PUBLISH = """mutation Publish($input: PublishJobInput!) {
  published: publishJob(input: $input) {
    __typename degraded
    job { id microId uuid: microUuid answers status createdAt __typename }
  }
}"""
JOB = """query($id: UUID!) {
  job(id: $id) { id microId uuid: microUuid answers status createdAt __typename }
}"""
GOOD: dict[str, Any] = {
    "microId": "wall-painting",
    "answers": WALL_PAINTING_ANSWERS,
    "location": EXAMPLE_LOCATION,
}


def _compile(document: str, name: str | None = None) -> ResolverPlan | None:
    plan = compile_plan(
        parse(document, no_location=True), name, document, lookups=False, search=False
    )
    assert plan is None or isinstance(plan, ResolverPlan)
    return plan


@pytest.mark.parametrize(
    "document",
    [
        PUBLISH,
        "mutation($i: PublishJobInput!) { publishJob(input: $i) { job { id } } }",
        # (a nullable $i would not validate against input: PublishJobInput!)
        "mutation P($i: PublishJobInput!) { publishJob(input: $i) { degraded __typename } }",
        # a literal input: graphql-core coerces it as it does for the general path
        'mutation { publishJob(input: {microId: "x", answers: {}, location: {postcode: "x"}}) '
        "{ job { id } } }",
        # async resolvers below the root field, awaited as graphql-core awaits them
        "mutation($i: PublishJobInput!) { publishJob(input: $i) { job { id location { area } } } }",
        "mutation($i: PublishJobInput!) { publishJob(input: $i) "
        "{ job { photos { id url } microService { id } } } }",
    ],
)
def test_plain_publishes_compile(document: str) -> None:
    assert _compile(document) is not None


@pytest.mark.parametrize(
    "document",
    [
        # a fragment, a directive, two fields
        "mutation($i: PublishJobInput!) { publishJob(input: $i) { job { ...F } } } "
        "fragment F on Job { id }",
        "mutation($i: PublishJobInput!) { publishJob(input: $i) @skip(if: false) { degraded } }",
        "mutation($i: PublishJobInput!) { a: publishJob(input: $i) { degraded } "
        "b: publishJob(input: $i) { degraded } }",
        "mutation($i: PublishJobInput!) { publishJob(input: $i) { d: degraded d: __typename } }",
        "query($s: String!) { microService(slug: $s) { id } }",
    ],
)
def test_anything_else_is_left_to_the_general_path(document: str) -> None:
    assert _compile(document) is None


def _both(
    database_url: str, **overrides: Any
) -> AbstractAsyncContextManager[tuple[AppHarness, AppHarness]]:
    """The general path and the plan, on one database."""
    return general_and_planned(database_url, "compiled_publish", **BASE, **overrides)


async def _publish(api: AppHarness, key: IssuedKey, value: Any, request_id: str = "") -> Any:
    headers = {**key.headers, **({"X-Request-ID": request_id} if request_id else {})}
    response = await api.client.post(
        "/graphql",
        json={"query": PUBLISH, "variables": {"input": value}, "operationName": "Publish"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response.content


async def _learned(api: AppHarness, key: IssuedKey) -> None:
    await _publish(api, key, GOOD)
    assert isinstance(api.http_state.plans.get(PUBLISH, "Publish"), ResolverPlan)


async def test_a_published_job_reads_back_exactly_as_the_plan_answered(
    database_url: str, jobs_writer_key: IssuedKey
) -> None:
    async with running_app(database_url, **BASE) as api:
        await _learned(api, jobs_writer_key)
        api.statements.clear()
        body = orjson.loads(await _publish(api, jobs_writer_key, GOOD))
        published = body["data"]["published"]
        assert published["__typename"] == "PublishJobPayload"
        assert published["degraded"] is False
        # Job's fields as graphql-core serializes them, for the very job the plan stored.
        read = await api.graphql(
            JOB, {"id": published["job"]["id"]}, headers=jobs_writer_key.headers
        )
        assert published["job"] == read["data"]["job"]
        # One statement stored it: no transaction around a lone insert.
        inserts = api.statements.matching("INSERT INTO jobs")
        assert len(inserts) == 1
        assert not api.statements.matching("BEGIN")


@pytest.mark.parametrize(
    "value",
    [
        {**GOOD, "microId": "no-such-service"},
        {**GOOD, "answers": {**WALL_PAINTING_ANSWERS, "walls": -1}},
        {**GOOD, "answers": "not an object"},
        {**GOOD, "location": {"postcode": "NOT A POSTCODE"}},
        {**GOOD, "microUuid": "00000000-0000-0000-0000-000000000000"},
        {**GOOD, "customerRef": ""},
        {**GOOD, "photoIds": ["not-an-upload"]},
        # Input graphql-core coerces or refuses itself: the plan steps aside.
        {**GOOD, "microId": 5},
        {**GOOD, "photoIds": "a-lone-id"},
        {**GOOD, "microUuid": "not-a-uuid"},
        {**GOOD, "unknownField": 1},
        {**GOOD, "location": {"postcode": "SW1A 1AA", "extra": 1}},
        {key: value for key, value in GOOD.items() if key != "answers"},
        None,
    ],
)
async def test_a_refusal_is_byte_identical_to_the_general_paths(
    database_url: str, jobs_writer_key: IssuedKey, value: Any
) -> None:
    async with _both(database_url) as (general, planned):
        await _learned(planned, jobs_writer_key)
        expected = await _publish(general, jobs_writer_key, value, "rid-refusal")
        assert b'"errors"' in expected
        assert await _publish(planned, jobs_writer_key, value, "rid-refusal") == expected


async def test_a_missing_scope_fails_as_on_the_general_path(
    database_url: str,
    jobs_writer_key: IssuedKey,
    make_api_key: Callable[..., Awaitable[IssuedKey]],
) -> None:
    reader = await make_api_key("jobs:read")
    async with _both(database_url) as (general, planned):
        await _learned(planned, jobs_writer_key)
        expected = await _publish(general, reader, GOOD, "rid-scope")
        assert b"FORBIDDEN" in expected
        assert await _publish(planned, reader, GOOD, "rid-scope") == expected


async def test_a_database_outage_is_answered_once_as_the_general_path_answers(
    database_url: str, jobs_writer_key: IssuedKey, caplog: pytest.LogCaptureFixture
) -> None:
    settings = {"cache_warm_up": False, "db_command_timeout": 1.0}
    async with (
        proxy_to(database_url) as proxy,
        _both(proxy.url_for(database_url), **settings) as (general, planned),
    ):
        await _learned(planned, jobs_writer_key)
        await _publish(general, jobs_writer_key, GOOD)  # both know the key and the service
        before = await count_jobs(database_url)
        # The database goes away for new connections only: the invalidation listeners keep
        # theirs, so the key and the service still come from the caches, and the insert (on a
        # fresh connection, the pools' own being closed) is the step that meets the outage.
        proxy.mode = "reject"
        for app in (general, planned):
            await app.app_state.pool.expire_connections()
        planned.statements.clear()
        expected = orjson.loads(await _publish(general, jobs_writer_key, GOOD, "rid-outage"))
        caplog.clear()
        answer = orjson.loads(await _publish(planned, jobs_writer_key, GOOD, "rid-outage"))
        # Tried once: not a second time through the general path after the plan's attempt.
        attempts = [r for r in caplog.records if "job insert failed" in r.getMessage()]
        assert len(attempts) == 1
        for body in (expected, answer):
            assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            del body["errors"][0]["message"]
        assert answer == expected
    assert await count_jobs(database_url) == before  # nothing half-written in the outage
