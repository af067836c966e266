import asyncio
from pathlib import Path

import asyncpg
import pytest

from db.migrate import MigrationError, apply_migrations, discover


async def _tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {r["tablename"] for r in rows}


async def test_migrations_apply_from_empty_then_rerun_applies_nothing(
    empty_database_url: str,
) -> None:
    conn = await asyncpg.connect(empty_database_url)
    try:
        first = await apply_migrations(conn)
        assert [m.version for m in first] == [m.version for m in discover()]
        assert {"micro_services", "jobs", "categories", "subcategories", "schema_migrations"} <= (
            await _tables(conn)
        )
        assert await apply_migrations(conn) == []
        recorded = await conn.fetchval("SELECT count(*) FROM schema_migrations")
        assert recorded == len(first)
    finally:
        await conn.close()


async def test_two_runners_at_once_apply_each_migration_once(empty_database_url: str) -> None:
    conns = [await asyncpg.connect(empty_database_url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(apply_migrations(c) for c in conns))
        applied = sorted(m.version for result in results for m in result)
        assert applied == [m.version for m in discover()]
    finally:
        for conn in conns:
            await conn.close()


async def test_failing_migration_leaves_nothing_behind(
    empty_database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "001_good.sql").write_text("CREATE TABLE good (id int);")
    (tmp_path / "002_bad.sql").write_text("CREATE TABLE half (id int); SELECT * FROM missing;")
    conn = await asyncpg.connect(empty_database_url)
    try:
        with pytest.raises(asyncpg.UndefinedTableError):
            await apply_migrations(conn, tmp_path)
        assert "good" in await _tables(conn)
        assert "half" not in await _tables(conn)
        versions = [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")]
        assert versions == [1]
    finally:
        await conn.close()


async def test_edited_applied_migration_is_refused(empty_database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "001_first.sql"
    path.write_text("CREATE TABLE first (id int);")
    conn = await asyncpg.connect(empty_database_url)
    try:
        await apply_migrations(conn, tmp_path)
        path.write_text("CREATE TABLE first (id bigint);")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await apply_migrations(conn, tmp_path)
    finally:
        await conn.close()


def test_misnamed_migration_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "first.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"first\.sql"):
        discover(tmp_path)
