"""The pool skips asyncpg's reset round trip on release; that is safe only while no statement
of the application leaves session state behind, which these tests hold it to."""

import re
import time
from pathlib import Path

import pytest

from db.pool import DatabaseStalled, connection_within, create_pool, ping

DB_DIR = Path(__file__).resolve().parents[2] / "db"
# Statements whose effect outlives their transaction on the connection.
SESSION_VERBS = re.compile(
    r"set_config|\bLISTEN\b|\bDECLARE\b|CREATE\s+TEMP|\bPREPARE\s"
    r"|pg_advisory_lock|pg_try_advisory_lock",
    re.IGNORECASE,
)


def leaves_session_state(sql: str) -> bool:
    """A `SET` statement (not UPDATE ... SET) or any other session-scoped verb."""
    statements = sql.strip('f"\n ').split(";")
    return any(st.strip().upper().startswith("SET ") for st in statements) or bool(
        SESSION_VERBS.search(sql)
    )


# The one exception, released in a `finally` on the same connection (db/migrate.py).
ALLOWED = {"ACQUIRE_MIGRATION_LOCK"}


def _sql_constants() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(DB_DIR.glob("*.py")):
        source = path.read_text()
        for match in re.finditer(
            r'^([A-Z][A-Z0-9_]+)\s*=\s*(f?"""[\s\S]*?"""|f?"[^"\n]*")', source, re.MULTILINE
        ):
            found[f"{path.name}:{match.group(1)}"] = match.group(2)
    return found


def test_the_scan_sees_the_statements_and_would_catch_session_state() -> None:
    constants = _sql_constants()
    assert "queries.py:SELECT_MICRO_SERVICES_BY_SLUGS" in constants
    assert leaves_session_state(constants["queries.py:ACQUIRE_MIGRATION_LOCK"])
    for leaky in ("SET statement_timeout = 0", "SELECT set_config('a.b', '1', false)",
                  "LISTEN jobs", "SELECT pg_try_advisory_lock($1)"):  # fmt: skip
        assert leaves_session_state(leaky), leaky
    assert not leaves_session_state(constants["queries.py:UPSERT_MICRO_SERVICES"])  # UPDATE SET


def test_no_statement_leaves_session_state_behind() -> None:
    leaks = [
        name
        for name, sql in _sql_constants().items()
        if leaves_session_state(sql) and name.split(":")[1] not in ALLOWED
    ]
    assert leaks == []


async def test_release_sends_no_reset_statement(database_url: str) -> None:
    sent: list[str] = []
    pool = await create_pool(database_url, min_size=1, max_size=1, query_loggers=[
        lambda record: sent.append(record.query)
    ])  # fmt: skip
    try:
        await pool.fetchval("SELECT 1")
        await pool.fetchval("SELECT 2")
    finally:
        await pool.close()
    assert sent == ["SELECT 1", "SELECT 2"]


async def test_an_open_transaction_is_still_rolled_back_on_release(database_url: str) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await conn.execute("BEGIN")
            await conn.execute("CREATE TABLE jw_never_committed (x int)")
        async with pool.acquire() as conn:  # the same, only connection
            assert not conn.is_in_transaction()
            exists = await conn.fetchval("SELECT to_regclass('jw_never_committed') IS NOT NULL")
            assert exists is False
    finally:
        await pool.close()


async def test_a_step_waiting_for_a_pool_connection_gives_up_at_its_deadline(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire():  # the only connection, held by someone else
            started = time.perf_counter()
            with pytest.raises(DatabaseStalled):
                async with connection_within(pool, 0.2, "test step"):
                    pass
            assert time.perf_counter() - started < 1.0
        assert "database stalled: no connection for the test step" in caplog.text
        # The pool is whole again: the next step gets its connection.
        async with connection_within(pool, 1.0, "next step") as conn:
            await ping(conn)
    finally:
        await pool.close()


async def test_a_statement_past_the_deadline_drops_its_connection_and_rolls_back(
    database_url: str,
) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=1)

    async def slow_write() -> None:
        async with connection_within(pool, 0.2, "slow step") as conn, conn.transaction():
            await conn.execute("CREATE TABLE stall_probe (id int)")
            await conn.execute("SELECT pg_sleep(5)")

    try:
        with pytest.raises(DatabaseStalled):
            await slow_write()
        async with connection_within(pool, 1.0, "check") as conn:
            assert await conn.fetchval("SELECT to_regclass('stall_probe')") is None
    finally:
        await pool.close()
