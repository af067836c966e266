"""Who may upload and how often: keys and scopes, unknown tokens stopped before the database,
and the hourly quota, which counts refused attempts too."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.media import samples
from tests.support.keys import IssuedKey
from tests.support.polling import eventually
from tests.support.uploads import (
    UploadHarness,
    refusal_code,
    running_upload_app,
    stored_uploads,
    upload_files,
)

MakeKey = Callable[..., Awaitable[IssuedKey]]


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[UploadHarness]:
    async with running_upload_app(database_url) as harness:
        yield harness


@pytest.fixture
async def writer(make_api_key: MakeKey) -> IssuedKey:
    return await make_api_key("jobs:write")


async def test_uploads_need_a_key_with_jobs_write(
    app: UploadHarness, make_api_key: MakeKey
) -> None:
    files = upload_files(samples.jpeg((64, 64)))
    anonymous = await app.client.post("/uploads", files=files)
    assert (anonymous.status_code, refusal_code(anonymous)) == (401, "UNAUTHENTICATED")
    unknown = await app.client.post(
        "/uploads", files=files, headers={"Authorization": "Bearer jw_nope"}
    )
    assert (unknown.status_code, refusal_code(unknown)) == (401, "UNAUTHENTICATED")
    reader = await make_api_key("jobs:read")
    forbidden = await app.client.post("/uploads", files=files, headers=reader.headers)
    assert (forbidden.status_code, refusal_code(forbidden)) == (403, "FORBIDDEN")
    count = await app.pool.fetchval("SELECT count(*) FROM uploads WHERE api_key_id = $1", reader.id)
    assert count == 0


async def test_random_tokens_on_uploads_are_stopped_before_they_reach_the_database(
    database_url: str,
) -> None:
    async with running_upload_app(database_url, rate_limit_auth_failures=20) as app:
        files = upload_files(samples.jpeg((16, 16)))
        app.harness.statements.clear()
        statuses = []
        for _ in range(200):
            token = {"Authorization": f"Bearer jw_{secrets.token_urlsafe(32)}"}
            response = await app.client.post("/uploads", files=files, headers=token)
            statuses.append((response.status_code, refusal_code(response)))
        assert statuses[:20] == [(401, "UNAUTHENTICATED")] * 20
        assert set(statuses[20:]) == {(429, "RATE_LIMITED")}
        assert len(app.harness.statements.matching("FROM api_keys")) == 20
        refused = await app.client.post(
            "/uploads", files=files, headers={"Authorization": "Bearer jw_one_more"}
        )
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["ratelimit-policy"].startswith('"auth-failures"')


async def test_unknown_tokens_on_graphql_and_uploads_share_one_budget(
    database_url: str, writer: IssuedKey
) -> None:
    async with running_upload_app(database_url, rate_limit_auth_failures=5) as app:
        await app.upload(writer, samples.jpeg((16, 16)))  # a key this process has verified
        for _ in range(5):
            junk = {"Authorization": f"Bearer jw_{secrets.token_urlsafe(32)}"}
            await app.client.post("/graphql", json={"query": "{ __typename }"}, headers=junk)
        files = upload_files(samples.jpeg((16, 16)))
        app.harness.statements.clear()
        junk = {"Authorization": f"Bearer jw_{secrets.token_urlsafe(32)}"}
        refused = await app.client.post("/uploads", files=files, headers=junk)
        assert (refused.status_code, refusal_code(refused)) == (429, "RATE_LIMITED")
        assert app.harness.statements.matching("FROM api_keys") == []
        # A real key verified before, behind the junk, is not locked out.
        await app.upload(writer, samples.jpeg((16, 16)))


async def test_an_unknown_token_sent_again_is_remembered_as_unknown(
    app: UploadHarness, writer: IssuedKey
) -> None:
    # The writer key's creation is announced, and the notice drops remembered verdicts: let
    # it arrive first.
    invalidation = app.harness.state["invalidation"]
    await eventually(lambda: invalidation.notices > 0, what="the new key's notice")
    files = upload_files(samples.jpeg((16, 16)))
    unknown = {"Authorization": f"Bearer jw_{secrets.token_urlsafe(32)}"}
    app.harness.statements.clear()
    for _ in range(10):
        response = await app.client.post("/uploads", files=files, headers=unknown)
        assert response.status_code == 401
    assert len(app.harness.statements.matching("FROM api_keys")) == 1
    # A real key behind the junk still uploads, and its verdict is kept as well.
    await app.upload(writer, samples.jpeg((16, 16)))
    await app.upload(writer, samples.jpeg((16, 16)))
    assert len(app.harness.statements.matching("FROM api_keys")) == 2


async def test_past_the_hourly_quota_uploads_are_rate_limited(
    database_url: str, make_api_key: MakeKey
) -> None:
    key = await make_api_key("jobs:write")
    async with running_upload_app(database_url, max_uploads_per_hour=2) as app:
        await app.upload(key, samples.jpeg((64, 64)))
        await app.upload(key, samples.jpeg((64, 64)))
        before = await stored_uploads(app, key)
        response = await app.client.post(
            "/uploads", files=upload_files(samples.jpeg((64, 64))), headers=key.headers
        )
        assert response.status_code == 429
        assert refusal_code(response) == "RATE_LIMITED"
        assert 3500 <= int(response.headers["retry-after"]) <= 3600
        assert await stored_uploads(app, key) == before


async def test_refused_uploads_count_against_the_quota(
    database_url: str, make_api_key: MakeKey
) -> None:
    key = await make_api_key("jobs:write")
    async with running_upload_app(database_url, max_uploads_per_hour=5) as app:
        statuses = []
        for _ in range(8):
            response = await app.client.post(
                "/uploads", files=upload_files(samples.truncated_jpeg()), headers=key.headers
            )
            statuses.append((response.status_code, refusal_code(response)))
        # Each refusal cost a decode, and so a place in the quota: no sixth decode is tried.
        assert statuses == [(400, "BAD_USER_INPUT")] * 5 + [(429, "RATE_LIMITED")] * 3
        good = await app.client.post(
            "/uploads", files=upload_files(samples.jpeg((64, 64))), headers=key.headers
        )
        assert good.status_code == 429


async def test_a_stored_upload_counts_once_against_the_quota(
    database_url: str, make_api_key: MakeKey
) -> None:
    key = await make_api_key("jobs:write")
    async with running_upload_app(database_url, max_uploads_per_hour=3) as app:
        for _ in range(3):
            await app.upload(key, samples.jpeg((64, 64)))
        attempts = await app.pool.fetchval(
            "SELECT count(*) FROM upload_attempts WHERE api_key_id = $1", key.id
        )
        assert attempts == 0  # each claim gave way to its upload
        response = await app.client.post(
            "/uploads", files=upload_files(samples.jpeg((64, 64))), headers=key.headers
        )
        assert response.status_code == 429
