"""The migration runner: numbered plain-SQL files in `migrations/`, each applied once, in order.

Each file runs in its own transaction together with the row that records it, so a failing file
leaves nothing behind. A session-level advisory lock serialises runners: when several processes
start at once, the first applies the pending files and the others wait, then find nothing to do.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from db import queries
from db.pool import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_FILE_NAME = re.compile(r"^(\d+)_([a-z0-9_]+)\.sql$")

log = logging.getLogger(__name__)


class MigrationError(Exception):
    """The migrations folder or the recorded history is inconsistent."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in version order; a stray or duplicated file is an error."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"Migration file name {path.name!r} is not NNN_snake_name.sql")
        version = int(match[1])
        if version in found:
            raise MigrationError(f"Migration version {version} is used by two files")
        found[version] = Migration(version, match[2], path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


async def apply_migrations(conn: Connection, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Apply every pending migration; return the ones applied by this call."""
    migrations = discover(directory)
    await conn.execute(queries.ACQUIRE_MIGRATION_LOCK, queries.MIGRATION_LOCK_KEY)
    try:
        await conn.execute(queries.CREATE_MIGRATIONS_TABLE)
        applied = {
            row["version"]: row["checksum"]
            for row in await conn.fetch(queries.SELECT_APPLIED_MIGRATIONS)
        }
        done: list[Migration] = []
        for migration in migrations:
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    # An applied file was edited: the database no longer matches the code.
                    raise MigrationError(
                        f"Migration {migration.version} ({migration.name}) was changed after "
                        "it was applied; add a new migration instead of editing an old one"
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    queries.INSERT_APPLIED_MIGRATION,
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            log.info("applied migration %03d_%s", migration.version, migration.name)
            done.append(migration)
        return done
    finally:
        await conn.execute(queries.RELEASE_MIGRATION_LOCK, queries.MIGRATION_LOCK_KEY)
