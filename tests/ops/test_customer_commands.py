"""`export-customer` prints everything held about a customer; `erase-customer` erases it, and
says so when there is nothing left."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg

from db.idempotency import NewJob, store_job
from db.pool import create_pool
from domain.contact import Contact, ContactMethod
from domain.customers import Customer
from domain.location import parse_location
from tests.support.processes import run_cli


async def test_export_then_erase_a_customer(database_url: str) -> None:
    customer = Customer("https://id.example", f"cli-{uuid.uuid4()}")
    contact = Contact("Cli Person", f"{customer.subject}@example.com", None, ContactMethod.EMAIL)
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            job = await store_job(
                conn,
                NewJob(
                    slug="wall-painting",
                    micro_uuid=None,
                    answers={},
                    publisher=customer,
                    location=parse_location("SW1A 1AA", None),
                    contact=contact,
                ),
                idempotency_key=None,
            )
        who = ("--issuer", customer.issuer, "--subject", customer.subject)
        exported = await asyncio.to_thread(run_cli, database_url, "export-customer", *who)
        assert exported.returncode == 0, exported.stderr
        held = json.loads(exported.stdout)
        assert held["customer"]["subject"] == customer.subject
        assert [(j["id"], j["contact"]["email"]) for j in held["jobs"]] == [
            (str(job.id), contact.email)
        ]
        erased = await asyncio.to_thread(run_cli, database_url, "erase-customer", *who)
        assert erased.returncode == 0, erased.stderr
        assert "1 job(s)" in erased.stdout
        again = await asyncio.to_thread(run_cli, database_url, "erase-customer", *who)
        assert "nothing to erase" in again.stdout
        gone = await asyncio.to_thread(run_cli, database_url, "export-customer", *who)
        assert gone.returncode == 1
        row: asyncpg.Record | None = await pool.fetchrow(
            "SELECT status, contact_email FROM jobs WHERE id = $1", job.id
        )
        assert row is not None
        assert tuple(row) == ("CANCELLED", None)
    finally:
        await pool.close()
