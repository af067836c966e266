"""An app serving the upload and media endpoints on a test database, and a way to upload."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from uuid import UUID

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from starlette.routing import Route

from api.uploads import UploadService, media, upload
from db.media_store import PostgresMediaStore
from db.uploads import fetch_url_signing_secret
from domain.uploads import UploadQuota
from tests.support.keys import IssuedKey


@dataclass
class UploadHarness:
    client: httpx.AsyncClient
    pool: asyncpg.Pool

    async def upload(self, key: IssuedKey, data: bytes, name: str = "photo.jpg") -> UUID:
        response = await self.client.post(
            "/uploads", files={"file": (name, data)}, headers=key.headers
        )
        assert response.status_code == 201, response.text
        return UUID(response.json()["id"])


@asynccontextmanager
async def running_upload_app(
    database_url: str, *, max_bytes: int = 10 * 1024 * 1024, max_uploads_per_hour: int = 200
) -> AsyncIterator[UploadHarness]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=5)
    try:
        service = UploadService(
            store=PostgresMediaStore(pool),
            url_secret=await fetch_url_signing_secret(pool),
            quota=UploadQuota(max_uploads=max_uploads_per_hour),
            max_bytes=max_bytes,
        )

        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[dict[str, object]]:
            yield {"services": SimpleNamespace(pool=pool, uploads=service)}

        app = Starlette(
            routes=[
                Route("/uploads", upload, methods=["POST"]),
                Route("/media/{id}", media, methods=["GET"]),
                Route("/media/{id}/thumb", media, methods=["GET"]),
            ],
            lifespan=lifespan,
        )
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield UploadHarness(client, pool)
    finally:
        await pool.close()
