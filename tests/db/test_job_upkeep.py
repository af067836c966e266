"""Expiry, the contact purge, a customer's erasure and export, on real rows (their dates set
back in SQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from db.idempotency import NewJob, store_job
from db.jobs import expire_jobs
from db.media_store import Blob, PostgresMediaStore
from db.personal_data import erase_customer, export_customer, purge_contact_details
from db.pool import create_pool
from db.records import JobRecord
from domain.contact import Contact, ContactMethod
from domain.customers import Customer
from domain.location import parse_location
from tests.support import prepare_database

ADA = Customer("https://id.example", "ada")
CONTACT = Contact("Ada Lovelace", "ada@example.com", "+447700900123", ContactMethod.ANY)
PERSONAL = ("Ada Lovelace", "ada@example.com", "+447700900123", "10 Downing Street", "cat")


@pytest.fixture
async def pool(empty_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await prepare_database(empty_database_url)
    async with await create_pool(empty_database_url, min_size=1, max_size=3) as created:
        yield created


async def _job(pool: asyncpg.Pool, publisher: Customer | None = ADA) -> JobRecord:
    async with pool.acquire() as conn:
        return await store_job(
            conn,
            NewJob(
                slug="wall-painting",
                micro_uuid=None,
                answers={"wall_count": 2},
                publisher=publisher,
                location=parse_location("SW1A 1AA", "10 Downing Street"),
                contact=CONTACT,
                description="Mind the cat",
            ),
            idempotency_key=None,
        )


async def _photo(pool: asyncpg.Pool, job: JobRecord, store: PostgresMediaStore) -> None:
    await store.put(
        [Blob("uploads/p", "image/png", b"x"), Blob("uploads/p/thumb", "image/png", b"y")]
    )
    await pool.execute(
        "INSERT INTO uploads (customer_id, content_type, width, height, bytes, sha256, "
        "thumb_width, thumb_height, thumb_bytes, thumb_sha256, received_bytes, storage_key, "
        "job_id, position, attached_at) VALUES ($1, 'image/png', 1, 1, 1, $2, 1, 1, 1, $2, 1, "
        "'uploads/p', $3, 0, now())",
        job.customer_id,
        "0" * 64,
        job.id,
    )


async def _holds_personal_data(pool: asyncpg.Pool) -> bool:
    dump = str(await pool.fetch("SELECT * FROM jobs")) + str(
        await pool.fetch("SELECT * FROM job_audit")
    )
    return any(value in dump for value in PERSONAL)


async def test_old_published_jobs_expire_in_batches_with_audit(pool: asyncpg.Pool) -> None:
    jobs = [await _job(pool, None) for _ in range(5)]
    fresh = await _job(pool, None)
    old = [j.id for j in jobs]
    await pool.execute(
        "UPDATE jobs SET created_at = now() - interval '31 days' WHERE id = ANY($1)", old
    )
    assert await expire_jobs(pool, days=30, batch_size=2) == 5
    rows = await pool.fetch("SELECT id, status, version, ended_at FROM jobs")
    states = {r["id"]: (r["status"], r["version"], r["ended_at"] is not None) for r in rows}
    assert all(states[i] == ("EXPIRED", 2, True) for i in old)
    assert states[fresh.id] == ("PUBLISHED", 1, False)
    audit = await pool.fetch("SELECT actor_kind, action FROM job_audit WHERE action = 'expired'")
    assert [tuple(a) for a in audit] == [("system", "expired")] * 5
    assert await expire_jobs(pool, days=30) == 0


async def test_contact_purge_takes_ended_jobs_past_retention_only(pool: asyncpg.Pool) -> None:
    store = PostgresMediaStore(pool)
    ended, recent, open_job = await _job(pool), await _job(pool), await _job(pool)
    await _photo(pool, ended, store)
    await pool.execute(
        "UPDATE jobs SET status = 'CLOSED', ended_at = now() - interval '400 days' WHERE id = $1",
        ended.id,
    )
    await pool.execute(
        "UPDATE jobs SET status = 'CLOSED', ended_at = now() - interval '10 days' WHERE id = $1",
        recent.id,
    )
    assert await purge_contact_details(pool, store, days=365) == 1
    row = await pool.fetchrow(
        "SELECT contact_email, address_line, description, postcode, answers, contact_erased_at"
        " FROM jobs WHERE id = $1",
        ended.id,
    )
    assert row is not None
    assert (row["contact_email"], row["address_line"], row["description"]) == (None, None, None)
    assert row["postcode"] == "SW1A 1AA"  # the statistics stay
    assert row["contact_erased_at"] is not None
    assert await pool.fetchval("SELECT count(*) FROM uploads") == 0
    assert await store.get("uploads/p") is None
    kept = await pool.fetchval(
        "SELECT count(*) FROM jobs WHERE contact_email IS NOT NULL AND id = ANY($1)",
        [recent.id, open_job.id],
    )
    assert kept == 2
    assert await purge_contact_details(pool, store, days=365) == 0


async def test_erasure_leaves_no_personal_data_and_is_idempotent(pool: asyncpg.Pool) -> None:
    store = PostgresMediaStore(pool)
    first, second = await _job(pool), await _job(pool)
    other = await _job(pool, Customer("https://id.example", "bob"))
    await _photo(pool, first, store)
    await pool.execute("UPDATE jobs SET status = 'CLOSED' WHERE id = $1", second.id)

    async with pool.acquire() as conn:
        exported = await export_customer(conn, ADA)
    assert exported is not None
    assert exported["customer"]["subject"] == "ada"
    assert [j["contact"]["email"] for j in exported["jobs"]] == ["ada@example.com"] * 2
    assert exported["jobs"][0]["photos"][0]["contentType"] == "image/png"
    assert exported["jobs"][0]["audit"][0]["action"] == "published"

    assert await erase_customer(pool, store, ADA, actor=ADA) == 2
    assert await erase_customer(pool, store, ADA, actor=ADA) == 0
    rows = await pool.fetch("SELECT id, status, customer_id, contact_email FROM jobs")
    by_id = {r["id"]: r for r in rows}
    assert by_id[first.id]["status"] == "CANCELLED"  # it was open
    assert by_id[second.id]["status"] == "CLOSED"
    assert {by_id[i]["customer_id"] for i in (first.id, second.id)} == {None}
    assert by_id[other.id]["contact_email"] == "ada@example.com"  # Bob's job is Bob's
    await pool.execute("DELETE FROM jobs WHERE id = $1", other.id)
    assert not await _holds_personal_data(pool)
    assert await pool.fetchval("SELECT count(*) FROM customers WHERE subject = 'ada'") == 0
    assert await store.get("uploads/p") is None
    async with pool.acquire() as conn:
        assert await export_customer(conn, ADA) is None
