"""POST /uploads and GET /media/{id}: a real photo in, its cleaned copy out; every bad file or
request answered with its status and `extensions.code`, and nothing stored."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any
from uuid import UUID

import pytest
from PIL import Image

from api.upload_body import SPOOL_BYTES
from media.images import process_image
from tests.media import samples
from tests.support import running_app
from tests.support.keys import IssuedKey
from tests.support.proxy import TcpProxy
from tests.support.uploads import (
    UploadHarness,
    refusal_code,
    running_upload_app,
    stored_uploads,
    upload_files,
)

MakeKey = Callable[..., Awaitable[IssuedKey]]
MAX_BYTES = 2 * 1024 * 1024  # the test app's UPLOAD_MAX_BYTES


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[UploadHarness]:
    async with running_upload_app(database_url, max_bytes=MAX_BYTES) as harness:
        yield harness


@pytest.fixture
async def writer(make_api_key: MakeKey) -> IssuedKey:
    return await make_api_key("jobs:write")


async def test_a_jpeg_is_stored_cleaned_and_served_back(
    app: UploadHarness, writer: IssuedKey
) -> None:
    source = samples.jpeg((1200, 900))
    response = await app.client.post("/uploads", files=upload_files(source), headers=writer.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["width"] == 1200
    assert body["height"] == 900
    assert body["contentType"] == "image/jpeg"
    upload_id = UUID(body["id"])
    image = await app.client.get(f"/media/{upload_id}", headers=writer.headers)
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/jpeg"
    assert len(image.content) == body["bytes"]
    assert image.headers["etag"] == f'"{hashlib.sha256(image.content).hexdigest()}"'
    assert "immutable" in image.headers["cache-control"]
    assert image.headers["x-content-type-options"] == "nosniff"
    assert b"Jane Customer" not in image.content
    assert b"Exif" not in image.content
    assert len(Image.open(io.BytesIO(image.content)).getexif()) == 0
    thumb = await app.client.get(f"/media/{upload_id}/thumb", headers=writer.headers)
    assert thumb.status_code == 200
    assert Image.open(io.BytesIO(thumb.content)).size == (320, 240)
    assert thumb.headers["etag"] != image.headers["etag"]


async def test_an_mpo_from_a_phone_is_stored_as_a_jpeg_not_a_500(
    app: UploadHarness, writer: IssuedKey
) -> None:
    response = await app.client.post(
        "/uploads",
        files=upload_files(samples.mpo((1200, 900)), "IMG_0001.JPG"),
        headers=writer.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["contentType"], body["width"], body["height"]) == ("image/jpeg", 1200, 900)
    image = await app.client.get(f"/media/{body['id']}", headers=writer.headers)
    assert Image.open(io.BytesIO(image.content)).format == "JPEG"
    assert b"Jane Customer" not in image.content


async def test_etag_revalidation_answers_304(app: UploadHarness, writer: IssuedKey) -> None:
    upload_id = await app.upload(writer, samples.png((64, 64)))
    first = await app.client.get(f"/media/{upload_id}", headers=writer.headers)
    again = await app.client.get(
        f"/media/{upload_id}",
        headers={**writer.headers, "If-None-Match": first.headers["etag"]},
    )
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]


async def test_signed_urls_let_a_browser_see_the_photo_without_a_key(
    app: UploadHarness, writer: IssuedKey
) -> None:
    response = await app.client.post(
        "/uploads",
        files=upload_files(samples.webp(), "p.webp", "image/webp"),
        headers=writer.headers,
    )
    body = response.json()
    image = await app.client.get(body["url"])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/webp"
    thumb = await app.client.get(body["thumbnailUrl"])
    assert thumb.status_code == 200
    # A thumbnail's signature does not open the full image, nor does a tampered one.
    forged = body["thumbnailUrl"].replace("/thumb", "")
    assert refusal_code(await app.client.get(forged)) == "FORBIDDEN"
    tampered = body["url"][:-2] + ("AA" if not body["url"].endswith("AA") else "BB")
    assert (await app.client.get(tampered)).status_code == 403


async def test_media_follows_the_read_rules(
    app: UploadHarness, writer: IssuedKey, make_api_key: MakeKey
) -> None:
    upload_id = await app.upload(writer, samples.jpeg())
    other = await make_api_key("jobs:write")
    reader = await make_api_key("jobs:read")
    assert (await app.client.get(f"/media/{upload_id}")).status_code == 401
    assert refusal_code(await app.client.get(f"/media/{upload_id}")) == "UNAUTHENTICATED"
    assert refusal_code(await app.client.get(f"/media/{upload_id}", headers=other.headers)) == (
        "FORBIDDEN"
    )
    # Not on a job yet: only its uploader sees it, even with jobs:read.
    assert (await app.client.get(f"/media/{upload_id}", headers=reader.headers)).status_code == 403
    job_id = await app.pool.fetchval(
        "INSERT INTO jobs (micro_id, answers, api_key_id) VALUES ('wall-painting', '{}', $1)"
        " RETURNING id",
        writer.id,
    )
    await app.pool.execute(
        "UPDATE uploads SET job_id = $1, position = 0, attached_at = now() WHERE id = $2",
        job_id,
        upload_id,
    )
    # On a job, still the uploader's alone: photos are personal data, not shown to jobs:read.
    assert (await app.client.get(f"/media/{upload_id}", headers=reader.headers)).status_code == 403
    assert (await app.client.get(f"/media/{upload_id}", headers=other.headers)).status_code == 403
    assert (await app.client.get(f"/media/{upload_id}", headers=writer.headers)).status_code == 200


@pytest.mark.parametrize("path", ["/media/not-a-uuid", f"/media/{UUID(int=7)}", "/media/x/thumb"])
async def test_unknown_media_is_not_found(app: UploadHarness, writer: IssuedKey, path: str) -> None:
    response = await app.client.get(path, headers=writer.headers)
    assert response.status_code == 404
    assert refusal_code(response) == "NOT_FOUND"


def _bad_files() -> Iterator[Any]:
    yield pytest.param(
        upload_files(samples.zip_renamed_jpg(), "holiday.jpg"),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        id="zip",
    )
    yield pytest.param(
        upload_files(samples.SVG, "p.svg", "image/svg+xml"), 415, "UNSUPPORTED_MEDIA_TYPE", id="svg"
    )
    yield pytest.param(
        upload_files(samples.truncated_jpeg()), 400, "BAD_USER_INPUT", id="truncated-jpeg"
    )
    yield pytest.param(
        upload_files(samples.png_bomb(), "bomb.png", "image/png"),
        413,
        "PAYLOAD_TOO_LARGE",
        id="20000x20000-png",
    )
    yield pytest.param(upload_files(b""), 400, "BAD_USER_INPUT", id="empty-file")
    yield pytest.param(
        upload_files(b"\xff\xd8" + b"\x00" * (MAX_BYTES + 10)),
        413,
        "PAYLOAD_TOO_LARGE",
        id="too-big",
    )


@pytest.mark.parametrize(("files", "status", "code"), list(_bad_files()))
async def test_bad_files_are_refused_and_nothing_isstored_uploads(
    app: UploadHarness, writer: IssuedKey, files: dict[str, Any], status: int, code: str
) -> None:
    before = await stored_uploads(app, writer)
    response = await app.client.post("/uploads", files=files, headers=writer.headers)
    assert response.status_code == status, response.text
    assert refusal_code(response) == code
    assert await stored_uploads(app, writer) == before


async def test_requests_that_are_not_one_file_are_refused(
    app: UploadHarness, writer: IssuedKey, make_api_key: MakeKey
) -> None:
    before = await stored_uploads(app, writer)
    jpeg = samples.jpeg((64, 64))
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"data": {"caption": "no file"}, "files": {"other": ("a.txt", b"x")}}, 400, "BAD_REQUEST"),
        ({"json": {"file": "x"}}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        ({"content": b"", "headers": {"content-type": "multipart/form-data"}}, 400, "BAD_REQUEST"),
        (
            {"files": [("file", ("a.jpg", jpeg, "image/jpeg")), ("file", ("b.jpg", jpeg))]},
            400,
            "BAD_REQUEST",
        ),
        (
            {
                "content": b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc',
                "headers": {"content-type": "multipart/form-data; boundary=xyz"},
            },
            400,
            "BAD_REQUEST",
        ),
    ]
    for kwargs, status, code in cases:
        headers = {**writer.headers, **kwargs.pop("headers", {})}
        response = await app.client.post("/uploads", headers=headers, **kwargs)
        assert (response.status_code, refusal_code(response)) == (status, code), kwargs
    assert await stored_uploads(app, writer) == before


async def test_a_body_over_the_limit_is_cut_off_without_a_content_length(
    app: UploadHarness, writer: IssuedKey
) -> None:
    boundary = b"bound"

    async def body() -> AsyncIterator[bytes]:
        yield b'--bound\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
        for _ in range(MAX_BYTES // 65536 + 2):
            yield b"\x00" * 65536
        yield b"\r\n--bound--\r\n"

    response = await app.client.post(
        "/uploads",
        content=body(),
        headers={
            **writer.headers,
            "content-type": f"multipart/form-data; boundary={boundary.decode()}",
        },
    )
    assert response.status_code == 413
    assert refusal_code(response) == "PAYLOAD_TOO_LARGE"


def _noise_jpeg() -> bytes:
    """A JPEG of about 1.5 MB: noise keeps it large."""
    out = io.BytesIO()
    Image.effect_noise((1400, 1050), 64).convert("RGB").save(out, format="JPEG", quality=95)
    return out.getvalue()


def _multipart(source: bytes, chunk: int = 10_000) -> AsyncIterator[bytes]:
    async def body() -> AsyncIterator[bytes]:
        yield b'--bound\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
        for start in range(0, len(source), chunk):
            yield source[start : start + chunk]
        yield b"\r\n--bound--\r\n"

    return body()


async def test_a_photo_past_the_memory_budget_sent_in_small_chunks_arrives_whole(
    database_url: str, writer: IssuedKey
) -> None:
    # A budget smaller than the photo: its first batches are kept in memory, then the spool
    # moves to disk mid-body and the rest is written there a batch at a time, from chunks far
    # smaller than a batch.
    source = _noise_jpeg()
    budget = 512 * 1024
    assert budget < len(source) < MAX_BYTES
    async with running_upload_app(
        database_url, max_bytes=MAX_BYTES, upload_memory_bytes=budget
    ) as app:
        response = await app.client.post(
            "/uploads",
            content=_multipart(source),
            headers={**writer.headers, "content-type": "multipart/form-data; boundary=bound"},
        )
        assert response.status_code == 201, response.text
        stored = await app.client.get(f"/media/{response.json()['id']}", headers=writer.headers)
        memory = app.harness.http_state.upload_memory
        assert (memory.total, memory.free) == (budget, budget)
    # Re-encoding is deterministic: the same bytes only if every byte sent reached the decoder.
    assert stored.content == process_image(io.BytesIO(source)).image.data


async def test_bodies_kept_in_memory_give_their_share_back_however_the_upload_ends(
    app: UploadHarness, writer: IssuedKey
) -> None:
    memory = app.harness.http_state.upload_memory
    total = memory.total
    assert total > SPOOL_BYTES
    stored = await app.client.post(
        "/uploads", files=upload_files(samples.jpeg((640, 480))), headers=writer.headers
    )
    not_an_image = await app.client.post(
        "/uploads", files=upload_files(b"not an image at all" * 1000), headers=writer.headers
    )
    unfinished = await app.client.post(
        "/uploads",
        content=b'--bound\r\nContent-Disposition: form-data; name="file"\r\n\r\n' + b"x" * 300_000,
        headers={**writer.headers, "content-type": "multipart/form-data; boundary=bound"},
    )
    too_large = await app.client.post(
        "/uploads",
        content=_multipart(b"\xff" * (MAX_BYTES + 1)),
        headers={**writer.headers, "content-type": "multipart/form-data; boundary=bound"},
    )
    assert [r.status_code for r in (stored, not_an_image, unfinished, too_large)] == [
        201,
        415,
        400,
        413,
    ]
    assert memory.free == total


async def test_while_postgresql_is_down_uploads_and_media_are_unavailable_not_500(
    database_url: str, pg_proxy: TcpProxy, writer: IssuedKey
) -> None:
    async with running_app(
        pg_proxy.url_for(database_url),
        migrate_on_start=False,
        seed_on_start=False,
        db_command_timeout=2.0,
    ) as harness:
        app = UploadHarness(harness)
        upload_id = await app.upload(writer, samples.jpeg((64, 64)))
        await pg_proxy.refuse()
        await harness.app_state.pool.expire_connections()
        media = await app.client.get(f"/media/{upload_id}", headers=writer.headers)
        posted = await app.client.post(
            "/uploads", files=upload_files(samples.jpeg((64, 64))), headers=writer.headers
        )
        for response in (media, posted):
            assert response.status_code == 503, response.text
            assert refusal_code(response) == "SERVICE_UNAVAILABLE"
        await pg_proxy.restore()
        again = await app.client.get(f"/media/{upload_id}", headers=writer.headers)
        assert again.status_code == 200
