import asyncio
import os
import signal
import sys
from asyncio.subprocess import PIPE, STDOUT
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from db.analytics import BackfillBatch, fetch_migration_stats, fetch_unmatched_slugs
from ops.backfill import run_backfill
from tests.support.polling import eventually

ROOT = Path(__file__).resolve().parent.parent.parent
INSERT_SLUG_ONLY_JOBS = """
INSERT INTO jobs (micro_id, answers)
SELECT slug, '{}'::jsonb FROM unnest($1::text[]) AS slug, generate_series(1, $2)
"""


@pytest.fixture
async def conn(seeded_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a migrated, seeded database of this test's own."""
    connection = await asyncpg.connect(seeded_database_url)
    yield connection
    await connection.close()


async def uuids_by_job(conn: asyncpg.Connection) -> dict[str, list[str | None]]:
    rows = await conn.fetch("SELECT micro_id, micro_uuid::text AS u FROM jobs ORDER BY micro_id")
    out: dict[str, list[str | None]] = {}
    for row in rows:
        out.setdefault(row["micro_id"], []).append(row["u"])
    return out


async def test_matched_jobs_get_their_uuid_and_unmatched_ones_are_listed(
    conn: asyncpg.Connection,
) -> None:
    await conn.execute(INSERT_SLUG_ONLY_JOBS, ["wall-painting"], 7)
    await conn.execute(INSERT_SLUG_ONLY_JOBS, ["no-such-service"], 3)
    await conn.execute(INSERT_SLUG_ONLY_JOBS, ["typo-paintng"], 1)
    # A retired micro service keeps its UUID: its old jobs are matched too.
    retired = await conn.fetchval(
        "SELECT slug FROM micro_services WHERE slug <> 'wall-painting' ORDER BY slug LIMIT 1"
    )
    await conn.execute("UPDATE micro_services SET active = false WHERE slug = $1", retired)
    await conn.execute(INSERT_SLUG_ONLY_JOBS, [retired], 2)
    expected: dict[str, str] = {
        row["slug"]: row["id"]
        for row in await conn.fetch(
            "SELECT slug, id::text AS id FROM micro_services WHERE slug = ANY($1::text[])",
            ["wall-painting", retired],
        )
    }
    seen: list[BackfillBatch] = []

    outcome = await run_backfill(conn, batch_size=4, on_batch=seen.append)

    assert outcome.migrated == 9
    assert not outcome.interrupted
    assert [b.migrated for b in seen] == [4, 4, 1]
    assert [b.remaining for b in seen] == [5, 1, 0]
    assert all(b.unmatched == 4 for b in seen)
    by_slug = await uuids_by_job(conn)
    assert by_slug["wall-painting"] == [expected["wall-painting"]] * 7
    assert by_slug[retired] == [expected[retired]] * 2
    assert by_slug["no-such-service"] == [None] * 3
    stats = await fetch_migration_stats(conn)
    assert (stats.total_jobs, stats.with_uuid, stats.without_uuid, stats.unmatched) == (13, 9, 4, 4)
    assert stats.completion_percent == 100.0
    assert await fetch_unmatched_slugs(conn, limit=10) == [
        ("no-such-service", 3),
        ("typo-paintng", 1),
    ]


async def test_a_rerun_changes_nothing(conn: asyncpg.Connection) -> None:
    await conn.execute(INSERT_SLUG_ONLY_JOBS, ["wall-painting", "nope"], 5)
    await run_backfill(conn, batch_size=100)
    before = await uuids_by_job(conn)
    rerun = await run_backfill(conn, batch_size=100)
    assert (rerun.migrated, rerun.batches) == (0, 1)
    assert rerun.last == BackfillBatch(migrated=0, remaining=0, unmatched=5)
    assert await uuids_by_job(conn) == before


async def test_jobs_that_already_carry_a_uuid_are_left_alone(conn: asyncpg.Connection) -> None:
    other = await conn.fetchval(
        "SELECT id FROM micro_services WHERE slug <> 'wall-painting' LIMIT 1"
    )
    # A job whose stored UUID disagrees with its slug is someone's decision, not the backfill's.
    await conn.execute(
        "INSERT INTO jobs (micro_id, micro_uuid, answers) VALUES ('wall-painting', $1, '{}')", other
    )
    await run_backfill(conn, batch_size=10)
    assert await conn.fetchval("SELECT micro_uuid FROM jobs") == other


async def test_an_interrupted_backfill_leaves_whole_batches_and_resumes(
    conn: asyncpg.Connection,
) -> None:
    await conn.execute(INSERT_SLUG_ONLY_JOBS, ["wall-painting"], 50)
    await conn.execute(INSERT_SLUG_ONLY_JOBS, ["nope"], 2)
    stop = asyncio.Event()
    batches = 0

    def stop_after_two(batch: BackfillBatch) -> None:
        nonlocal batches
        batches += 1
        if batches == 2:
            stop.set()  # what Ctrl-C does

    first = await run_backfill(conn, batch_size=10, on_batch=stop_after_two, stop=stop)
    assert first.interrupted
    assert first.migrated == 20
    stats = await fetch_migration_stats(conn)
    assert (stats.with_uuid, stats.without_uuid, stats.unmatched) == (20, 32, 2)
    assert stats.completion_percent == 40.0

    second = await run_backfill(conn, batch_size=10)
    assert not second.interrupted
    assert second.migrated == 30
    stats = await fetch_migration_stats(conn)
    assert (stats.with_uuid, stats.without_uuid, stats.completion_percent) == (50, 2, 100.0)


async def test_batch_size_must_be_positive(conn: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.InvalidParameterValueError, match="batch_size"):
        await conn.fetch("SELECT * FROM migrate_job_uuids(0)")


async def test_the_backfill_command_stops_on_ctrl_c_and_a_second_run_finishes(
    conn: asyncpg.Connection, empty_database_url: str
) -> None:
    await conn.execute(INSERT_SLUG_ONLY_JOBS, ["wall-painting"], 20_000)
    await conn.execute(INSERT_SLUG_ONLY_JOBS, ["nope"], 10)
    env = {**os.environ, "DATABASE_URL": empty_database_url, "COLUMNS": "120"}
    command = [sys.executable, "server.py", "backfill", "--batch-size", "50"]

    async def start() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, env=env, stdout=PIPE, stderr=STDOUT
        )

    process = await start()
    try:

        async def progressed() -> bool:
            assert process.returncode is None, "the backfill ended before Ctrl-C"
            return bool(
                await conn.fetchval("SELECT count(*) FROM jobs WHERE micro_uuid IS NOT NULL")
            )

        await eventually(progressed, timeout=30, interval=0.05, what="backfill progress")
        process.send_signal(signal.SIGINT)
        output = (await asyncio.wait_for(process.communicate(), 30))[0].decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 130, output
    assert "interrupted" in output
    done = await conn.fetchval("SELECT count(*) FROM jobs WHERE micro_uuid IS NOT NULL")
    assert 0 < done < 20_000
    assert done % 50 == 0  # whole batches only

    second = await start()
    output = (await asyncio.wait_for(second.communicate(), 120))[0].decode()
    assert second.returncode == 0, output
    assert f"{20_000 - done:,} job(s)" in output
    assert "100.00 %" in output
    assert "'nope'" in output  # the unmatched slug is named
    assert await conn.fetchval("SELECT count(*) FROM jobs WHERE micro_uuid IS NULL") == 10


async def test_two_concurrent_runners_fill_every_job_exactly_once(
    conn: asyncpg.Connection, empty_database_url: str
) -> None:
    await conn.execute(INSERT_SLUG_ONLY_JOBS, ["wall-painting", "artex-removal", "nope"], 1500)
    other = await asyncpg.connect(empty_database_url)
    try:
        first, second = await asyncio.gather(
            run_backfill(conn, batch_size=100), run_backfill(other, batch_size=100)
        )
    finally:
        await other.close()
    matched = await conn.fetchval("SELECT count(*) FROM jobs WHERE micro_uuid IS NOT NULL")
    assert first.migrated + second.migrated == matched
    assert await conn.fetchval("SELECT count(*) FROM jobs WHERE micro_uuid IS NULL") == 1500
