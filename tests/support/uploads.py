"""The app with its upload and media endpoints on a test database, and a way to upload; and a
multipart upload request without a socket, for reading a body in process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from starlette.requests import Request
from starlette.types import Message

from tests.support import AppHarness, running_app
from tests.support.keys import IssuedKey

BOUNDARY = b"bound"


def multipart_body(file: bytes) -> bytes:
    """A multipart/form-data body (boundary `BOUNDARY`) with `file` as its part named `file`."""
    return (
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n'
        b"\r\n" + file + b"\r\n--" + BOUNDARY + b"--\r\n"
    )


def multipart_request(file: bytes, chunk: int = 64 * 1024) -> Request:
    """POST /uploads with `file` as its part named `file`, its body arriving `chunk` bytes at a
    time, as `receive_file` (api/upload_body.py) reads it."""
    return chunked_request(multipart_body(file), chunk)


def chunked_request(body: bytes, chunk: int) -> Request:
    """POST /uploads of a multipart `body` (`multipart_body`), arriving `chunk` bytes at a
    time: each chunk a new bytes object, as the network's are."""
    chunks = [body[i : i + chunk] for i in range(0, len(body), chunk)]

    async def receive() -> Message:
        data = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": data, "more_body": bool(chunks)}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/uploads",
        "headers": [(b"content-type", b"multipart/form-data; boundary=" + BOUNDARY)],
    }
    return Request(scope, receive)


@dataclass
class UploadHarness:
    harness: AppHarness

    @property
    def client(self) -> httpx.AsyncClient:
        return self.harness.client

    @property
    def pool(self) -> asyncpg.Pool:
        return self.harness.app_state.pool

    async def upload(self, key: IssuedKey, data: bytes, name: str = "photo.jpg") -> UUID:
        body = await self.upload_body(key, data, name)
        return UUID(body["id"])

    async def upload_body(
        self, key: IssuedKey, data: bytes, name: str = "photo.jpg"
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/uploads", files={"file": (name, data)}, headers=key.headers
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def graphql(
        self, query: str, variables: dict[str, Any] | None = None, **kw: Any
    ) -> dict[str, Any]:
        return await self.harness.graphql(query, variables, **kw)


@asynccontextmanager
async def running_upload_app(
    database_url: str,
    *,
    max_bytes: int = 10 * 1024 * 1024,
    max_uploads_per_hour: int = 200,
    **overrides: Any,
) -> AsyncIterator[UploadHarness]:
    async with running_app(
        database_url,
        migrate_on_start=False,
        seed_on_start=False,
        upload_max_bytes=max_bytes,
        upload_quota_uploads=max_uploads_per_hour,
        **overrides,
    ) as harness:
        yield UploadHarness(harness)


@dataclass(frozen=True)
class Stored:
    uploads: int
    blobs: int


async def stored_uploads(app: UploadHarness, key: IssuedKey) -> Stored:
    """The key's uploads and every stored blob, counted."""
    pool = app.pool
    uploads = await pool.fetchval("SELECT count(*) FROM uploads WHERE api_key_id = $1", key.id)
    blobs = await pool.fetchval("SELECT count(*) FROM media_blobs")
    return Stored(uploads, blobs)


def upload_files(data: bytes, name: str = "photo.jpg", kind: str = "image/jpeg") -> dict[str, Any]:
    """httpx's `files` for one photo in the form field the endpoint reads."""
    return {"file": (name, data, kind)}


def refusal_code(response: httpx.Response) -> str:
    """The code of a refused upload or media request (a GraphQL-shaped error body)."""
    body = response.json()
    assert set(body) == {"errors"}
    assert body["errors"][0]["message"]
    code: str = body["errors"][0]["extensions"]["code"]
    return code
