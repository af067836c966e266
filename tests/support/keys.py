"""API keys for tests: issued the way `create-api-key` issues them (only the hash is stored),
either straight into the database or through the operator's command itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from db.api_keys import insert_api_key
from db.pool import Connection
from domain.api_keys import check_scopes, generate_key, hash_key
from tests.support.processes import run_cli


@dataclass(frozen=True, slots=True)
class IssuedKey:
    id: UUID
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def issue_api_key(conn: Connection, *, name: str, scopes: Sequence[str]) -> IssuedKey:
    key = generate_key()
    row = await insert_api_key(
        conn, name=name, key_sha256=hash_key(key), scopes=check_scopes(scopes)
    )
    return IssuedKey(id=row.id, key=key)


def create_publisher_key(database_url: str) -> str:
    """A new jobs:write key made by `python server.py create-api-key`, for page tests."""
    done = run_cli(database_url, "create-api-key", "--name", "page tests", "--scope", "jobs:write")
    assert done.returncode == 0, done.stderr
    # The command prints the key alone on its last line.
    return done.stdout.strip().splitlines()[-1]
