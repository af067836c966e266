"""Migration 011: catalogue writes bump the version once per transaction and announce it; key
changes are announced by hash; the listener hears both and reports a gap after a reconnect."""

from __future__ import annotations

import asyncpg
import pytest

from db.notifications import CHANNEL, InvalidationListener, Notice, catalogue_version
from db.seed import seed_catalogue
from domain.api_keys import hash_key
from domain.catalogue import Catalogue
from tests.support.polling import eventually


@pytest.fixture
def seeded(seeded_database_url: str) -> str:
    return seeded_database_url


async def test_writes_bump_the_version_once_per_transaction_and_notify(
    seeded: str, catalogue: Catalogue
) -> None:
    listener, writer = await asyncpg.connect(seeded), await asyncpg.connect(seeded)
    payloads: list[str] = []
    try:
        await listener.add_listener(CHANNEL, lambda *args: payloads.append(args[-1]))
        start = await catalogue_version(writer)
        async with writer.transaction():  # many rows, one bump
            await writer.execute("UPDATE micro_services SET description = description || '.'")
            await writer.execute("UPDATE categories SET name = name || '!'")
        assert await catalogue_version(writer) == start + 1
        await seed_catalogue(writer, catalogue)  # a seed always announces itself
        assert await catalogue_version(writer) == start + 2
        await eventually(lambda: len(payloads) >= 2, what="two notices")
        assert payloads == [f"catalogue {start + 1}", f"catalogue {start + 2}"]
        # Reading, and jobs, change nothing.
        await writer.fetch("SELECT * FROM micro_services")
        assert await catalogue_version(writer) == start + 2
    finally:
        await listener.close()
        await writer.close()


async def test_key_creation_and_revocation_are_announced_by_hash(seeded: str) -> None:
    listener, writer = await asyncpg.connect(seeded), await asyncpg.connect(seeded)
    payloads: list[str] = []
    digest = hash_key("jw_example")
    try:
        await listener.add_listener(CHANNEL, lambda *args: payloads.append(args[-1]))
        key_id = await writer.fetchval(
            "INSERT INTO api_keys (name, key_sha256) VALUES ('n', $1) RETURNING id", digest
        )
        await writer.execute("UPDATE api_keys SET last_used_at = now() WHERE id = $1", key_id)
        await writer.execute("UPDATE api_keys SET revoked_at = now() WHERE id = $1", key_id)
        await eventually(lambda: len(payloads) >= 2, what="two notices")
        assert payloads == [f"key {digest}", f"key {digest}"]  # not for last_used_at
    finally:
        await listener.close()
        await writer.close()


async def test_the_listener_hears_notices_and_reports_a_gap_after_a_reconnect(
    seeded: str,
) -> None:
    notices: list[Notice] = []
    gaps: list[int] = []
    listener = InvalidationListener(seeded, on_notice=notices.append, on_gap=gaps.append)
    version = await listener.start()
    writer = await asyncpg.connect(seeded)
    try:
        assert listener.listening
        await writer.execute("UPDATE categories SET name = name || '?' WHERE slug = 'painting'")
        await eventually(lambda: bool(notices), what="the catalogue notice")
        assert notices == [Notice("catalogue", str(version + 1))]
        # The server drops the listening connection: the listener notices and comes back.
        await writer.execute("SELECT pg_terminate_backend($1)", listener.backend_pid)
        await eventually(lambda: bool(gaps), what="the gap after the reconnect")
        assert gaps == [version + 1]
        assert listener.listening
    finally:
        await writer.close()
        await listener.close()
