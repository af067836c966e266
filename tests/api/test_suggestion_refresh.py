"""The suggestion rollups refresh on their own while the server runs, and on command."""

from __future__ import annotations

import asyncio
import os
import sys
from asyncio.subprocess import PIPE, STDOUT

import asyncpg

from config import ROOT
from tests.support import running_app
from tests.support.polling import eventually


async def _area_jobs(conn: asyncpg.Connection, area: str, slug: str, count: int) -> None:
    await conn.execute(
        """
        INSERT INTO jobs (micro_id, micro_uuid, answers, postcode_area)
        SELECT slug, id, '{}'::jsonb, $2 FROM micro_services, generate_series(1, $3)
         WHERE slug = $1
        """,
        slug,
        area,
        count,
    )


async def _popular(conn: asyncpg.Connection, area: str) -> list[tuple[str, int]]:
    rows = await conn.fetch(
        """
        SELECT m.slug, sum(d.jobs)::int AS jobs FROM service_popularity_daily AS d
          JOIN micro_services AS m ON m.id = d.micro_uuid
         WHERE d.postcode_area = $1 GROUP BY m.slug ORDER BY m.slug
        """,
        area,
    )
    return [(r["slug"], r["jobs"]) for r in rows]


async def test_a_running_server_refreshes_the_rollups_periodically(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await _area_jobs(conn, "KW", "hedge-trimming", 3)
        async with running_app(database_url, suggestions_refresh_seconds=0.2):
            # The first refresh comes one interval after start, then every interval.
            async def refreshed() -> bool:
                return await _popular(conn, "KW") == [("hedge-trimming", 3)]

            await eventually(refreshed, timeout=20, interval=0.1, what="a periodic refresh")
    finally:
        await conn.close()


async def test_the_refresh_suggestions_command(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await _area_jobs(conn, "HS", "chimney-repair", 2)
        env = {**os.environ, "DATABASE_URL": database_url}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "server.py",
            "refresh-suggestions",
            "--full",
            cwd=ROOT,
            env=env,
            stdout=PIPE,
            stderr=STDOUT,
        )
        output = (await asyncio.wait_for(process.communicate(), 120))[0].decode()
        assert process.returncode == 0, output
        assert "Refreshed suggestions" in output
        assert await _popular(conn, "HS") == [("chimney-repair", 2)]
    finally:
        await conn.close()
