"""publishJob's location and photoIds, end to end: stored with the job in one transaction,
read back on Job.location and Job.photos, every bad value refused at its field with nothing
stored, and the address line shown only to who may read the job in full and never logged."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.media import samples
from tests.support.jobs import publish_input
from tests.support.keys import IssuedKey
from tests.support.uploads import UploadHarness, running_upload_app

MakeKey = Callable[..., Awaitable[IssuedKey]]
ADDRESS = "Flat 2, 10 Downing Street"
PUBLISH = """
mutation Publish($input: PublishJobInput!) {
  publishJob(input: $input) {
    job {
      id
      location { postcode district area addressLine }
      photos { id url thumbnailUrl width height }
    }
  }
}
"""
READ = """
query Job($id: UUID!) {
  job(id: $id) { id location { postcode district area addressLine } photos { id width } }
}
"""


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[UploadHarness]:
    async with running_upload_app(database_url) as harness:
        yield harness


@pytest.fixture
async def writer(make_api_key: MakeKey) -> IssuedKey:
    return await make_api_key("jobs:write")


async def _publish(app: UploadHarness, key: IssuedKey, variables: dict[str, Any]) -> dict[str, Any]:
    return await app.graphql(PUBLISH, variables, headers=key.headers)


async def _counts(app: UploadHarness, key: IssuedKey) -> tuple[int, int]:
    jobs = await app.pool.fetchval("SELECT count(*) FROM jobs WHERE api_key_id = $1", key.id)
    attached = await app.pool.fetchval(
        "SELECT count(*) FROM uploads WHERE api_key_id = $1 AND job_id IS NOT NULL", key.id
    )
    return jobs, attached


def _error(body: dict[str, Any]) -> tuple[str, dict[str, str]]:
    assert not any((body.get("data") or {}).values()), body
    extensions = body["errors"][0]["extensions"]
    return extensions["code"], extensions.get("fields", {})


async def test_location_is_stored_normalised_and_read_back(
    app: UploadHarness, writer: IssuedKey, make_api_key: MakeKey
) -> None:
    body = await _publish(
        app,
        writer,
        publish_input(location={"postcode": " sw1a1aa ", "addressLine": f"  {ADDRESS} "}),
    )
    job = body["data"]["publishJob"]["job"]
    expected = {"postcode": "SW1A 1AA", "district": "SW1A", "area": "SW", "addressLine": ADDRESS}
    assert job["location"] == expected
    assert job["photos"] == []
    row = await app.pool.fetchrow(
        "SELECT postcode, postcode_district, postcode_area, address_line FROM jobs WHERE id = $1",
        uuid.UUID(job["id"]),
    )
    assert row is not None
    assert tuple(row) == ("SW1A 1AA", "SW1A", "SW", ADDRESS)
    read = await app.graphql(READ, {"id": job["id"]}, headers=writer.headers)
    assert read["data"]["job"]["location"] == expected
    # The address line is the owner's: a key that may read every job reads it without.
    reader = await make_api_key("jobs:read")
    read = await app.graphql(READ, {"id": job["id"]}, headers=reader.headers)
    assert read["data"]["job"]["location"] == {**expected, "addressLine": None}
    # Anyone else reads nothing, as for an id that does not exist.
    stranger = await make_api_key("jobs:write")
    refused = await app.graphql(READ, {"id": job["id"]}, headers=stranger.headers)
    assert refused == {"data": {"job": None}}


async def test_a_job_without_location_is_refused(app: UploadHarness, writer: IssuedKey) -> None:
    before = await _counts(app, writer)
    variables = publish_input()
    del variables["input"]["location"]
    body = await _publish(app, writer, variables)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "location" in body["errors"][0]["message"]
    assert await _counts(app, writer) == before


@pytest.mark.parametrize(
    ("location", "says"),
    [
        ({"postcode": "x" * 10_240}, "too long"),
        ({"postcode": "SW1A 1A\U0001f3e0"}, "only letters, digits and spaces"),
        ({"postcode": "SW1A"}, "both halves"),
        ({"postcode": "QA1 1AA"}, "not a valid UK postcode"),
        ({"postcode": ""}, "required"),
        ({"postcode": "SW1A 1AA", "addressLine": "x" * 10_240}, "at most 200"),
        ({"postcode": "SW1A 1AA", "addressLine": "Flat 2\n10 Downing St"}, "one line"),
    ],
    ids=["10KB", "emoji", "half", "bad-letters", "empty", "address-10KB", "address-newline"],
)
async def test_bad_locations_are_refused_at_location_and_nothing_is_stored(
    app: UploadHarness, writer: IssuedKey, location: dict[str, str], says: str
) -> None:
    before = await _counts(app, writer)
    body = await _publish(app, writer, publish_input(location=location))
    code, fields = _error(body)
    assert code == "BAD_USER_INPUT"
    assert says in fields["location"]
    assert await _counts(app, writer) == before


async def test_a_nul_in_the_postcode_is_refused_and_nothing_is_stored(
    app: UploadHarness, writer: IssuedKey
) -> None:
    before = await _counts(app, writer)
    response = await app.client.post(
        "/graphql",
        json={"query": PUBLISH, "variables": publish_input(location={"postcode": "SW1A\x001AA"})},
        headers=writer.headers,
    )
    # Refused before GraphQL runs (no NUL reaches a resolver or PostgreSQL), with its code.
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await _counts(app, writer) == before


async def test_photos_are_attached_in_order_and_served_by_their_signed_urls(
    app: UploadHarness, writer: IssuedKey, make_api_key: MakeKey
) -> None:
    uploads = [
        await app.upload_body(writer, samples.jpeg((800, 600))),
        await app.upload_body(writer, samples.png((300, 400), mode="RGB"), "b.png"),
        await app.upload_body(writer, samples.webp((500, 500)), "c.webp"),
    ]
    ids = [uploads[1]["id"], uploads[0]["id"], uploads[2]["id"]]
    body = await _publish(app, writer, publish_input(photo_ids=ids))
    photos = body["data"]["publishJob"]["job"]["photos"]
    assert [p["id"] for p in photos] == ids
    assert [(p["width"], p["height"]) for p in photos] == [(300, 400), (800, 600), (500, 500)]
    for photo in photos:
        image = await app.client.get(photo["url"])  # no API key: the signature is the grant
        assert image.status_code == 200
        assert image.headers["content-type"].startswith("image/")
        thumb = await app.client.get(photo["thumbnailUrl"])
        assert thumb.status_code == 200
        assert len(thumb.content) < len(image.content)
    job_id = body["data"]["publishJob"]["job"]["id"]
    read = await app.graphql(READ, {"id": job_id}, headers=writer.headers)
    assert [p["id"] for p in read["data"]["job"]["photos"]] == ids
    # Photos are the owner's, as the address line is: a key that may read every job sees none.
    reader = await make_api_key("jobs:read")
    read = await app.graphql(READ, {"id": job_id}, headers=reader.headers)
    assert read["data"]["job"]["id"] == job_id
    assert read["data"]["job"]["photos"] == []


async def test_a_retry_with_its_idempotency_key_answers_the_same_job_and_photos(
    app: UploadHarness, writer: IssuedKey
) -> None:
    photo = await app.upload(writer, samples.jpeg((64, 64)))
    variables = publish_input(idempotency_key=f"retry-{uuid.uuid4()}", photo_ids=[str(photo)])
    first = await _publish(app, writer, variables)
    again = await _publish(app, writer, variables)
    assert "errors" not in again, again
    assert again["data"]["publishJob"]["job"]["id"] == first["data"]["publishJob"]["job"]["id"]
    assert [p["id"] for p in again["data"]["publishJob"]["job"]["photos"]] == [str(photo)]


async def test_bad_photo_ids_are_refused_at_photo_ids_and_nothing_is_stored(
    app: UploadHarness, writer: IssuedKey, make_api_key: MakeKey
) -> None:
    other = await make_api_key("jobs:write")
    theirs = str(await app.upload(other, samples.jpeg((64, 64))))
    mine = [str(await app.upload(writer, samples.jpeg((64, 64)))) for _ in range(2)]
    taken = str(await app.upload(writer, samples.jpeg((64, 64))))
    published = await _publish(app, writer, publish_input(photo_ids=[taken]))
    assert "errors" not in published, published
    cases = [
        ([mine[0], theirs], "Photo 2 is not an upload of yours."),
        ([str(uuid.uuid4())], "Photo 1 is not an upload of yours."),
        (["not-an-id"], "Photo 1 is not an upload of yours."),
        ([mine[0], mine[1], mine[0]], "Photo 3 repeats photo 1."),
        ([str(uuid.uuid4()) for _ in range(11)], "At most 10 photos; 11 were given."),
        ([mine[0], taken], "Photo 2 is already attached to another job."),
    ]
    for photo_ids, says in cases:
        before = await _counts(app, writer)
        body = await _publish(app, writer, publish_input(photo_ids=photo_ids))
        assert _error(body) == ("BAD_USER_INPUT", {"photoIds": says}), photo_ids
        assert await _counts(app, writer) == before, photo_ids
    # The refused publishes left the good uploads free to attach.
    body = await _publish(app, writer, publish_input(photo_ids=mine))
    assert [p["id"] for p in body["data"]["publishJob"]["job"]["photos"]] == mine


async def test_the_address_line_is_never_logged_nor_in_lookup_events(
    app: UploadHarness, writer: IssuedKey, caplog: pytest.LogCaptureFixture
) -> None:
    secret_line = f"Flat {uuid.uuid4().hex[:8]}, Secret Lane"
    with caplog.at_level(logging.DEBUG):
        ok = await _publish(
            app, writer, publish_input(location={"postcode": "M1 1AE", "addressLine": secret_line})
        )
        bad = await _publish(
            app,
            writer,
            publish_input(location={"postcode": "nope", "addressLine": secret_line}),
        )
    assert "errors" not in ok
    assert "errors" in bad
    assert secret_line not in caplog.text
    events = app.harness.app_state.events
    if events is not None:
        await events.flush()
    found = await app.pool.fetchval(
        "SELECT count(*) FROM analytics_events WHERE event_properties::text LIKE $1",
        f"%{secret_line}%",
    )
    assert found == 0
