"""Uploads no job took within a day go, bytes and all: by `python server.py purge-uploads`, and
by the server itself when UPLOAD_PURGE=true."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from uuid import UUID

from tests.media import samples
from tests.support import running_app
from tests.support.keys import IssuedKey
from tests.support.polling import eventually
from tests.support.processes import run_cli
from tests.support.uploads import UploadHarness, running_upload_app

MakeKey = Callable[..., Awaitable[IssuedKey]]


async def _age(app: UploadHarness, upload_id: UUID, hours: float) -> None:
    await app.pool.execute(
        "UPDATE uploads SET created_at = now() - make_interval(secs => $2) WHERE id = $1",
        upload_id,
        hours * 3600,
    )


async def _exists(app: UploadHarness, upload_id: UUID) -> tuple[bool, int]:
    row = await app.pool.fetchval("SELECT count(*) FROM uploads WHERE id = $1", upload_id)
    blobs = await app.pool.fetchval(
        "SELECT count(*) FROM media_blobs WHERE key LIKE $1", f"uploads/{upload_id}%"
    )
    return row == 1, blobs


async def test_purge_uploads_command_deletes_only_day_old_unattached_uploads(
    database_url: str, make_api_key: MakeKey
) -> None:
    key = await make_api_key("jobs:write")
    async with running_upload_app(database_url) as app:
        old = await app.upload(key, samples.jpeg((64, 64)))
        fresh = await app.upload(key, samples.jpeg((64, 64)))
        await _age(app, old, 24.5)
        done = await asyncio.to_thread(run_cli, database_url, "purge-uploads")
        assert done.returncode == 0, done.stderr
        assert "Deleted" in done.stdout
        assert await _exists(app, old) == (False, 0)
        assert await _exists(app, fresh) == (True, 2)
        # Its signed URL now finds nothing.
        response = await app.client.get(f"/media/{old}", headers=key.headers)
        assert response.status_code == 404


async def test_the_server_purges_by_itself_when_told_to(
    database_url: str, make_api_key: MakeKey
) -> None:
    key = await make_api_key("jobs:write")
    async with running_upload_app(database_url) as setup:
        old = await setup.upload(key, samples.jpeg((64, 64)))
        await _age(setup, old, 25)
    async with running_app(
        database_url,
        migrate_on_start=False,
        seed_on_start=False,
        upload_purge=True,
        upload_purge_interval=1.0,
    ) as harness:
        app = UploadHarness(harness)

        async def purged() -> bool:
            return not (await _exists(app, old))[0]

        await eventually(purged, interval=0.1, what="the periodic purge")
        assert await _exists(app, old) == (False, 0)
