"""Customers' rows: the short id that jobs, uploads and idempotency keys reference for a
(issuer, subject) pair, made on a customer's first write."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from db.pool import Connection
from domain.customers import Customer

Executor = asyncpg.Pool | Connection

# Read first, insert only when missing: a returning customer writes nothing. ON CONFLICT DO
# NOTHING rather than DO UPDATE: no new row version on every publish.
ENSURE_CUSTOMER = """
WITH found AS (SELECT id FROM customers WHERE issuer = $1 AND subject = $2),
made AS (
    INSERT INTO customers (issuer, subject)
    SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM found)
    ON CONFLICT (issuer, subject) DO NOTHING
    RETURNING id
)
SELECT id FROM found UNION ALL SELECT id FROM made
"""
SELECT_CUSTOMER_ID = "SELECT id FROM customers WHERE issuer = $1 AND subject = $2"
# A customer made by a concurrent first write is visible to the next statement.
_ATTEMPTS = 3


async def ensure_customer(db: Executor, customer: Customer) -> UUID:
    """The id of `customer`'s row, made if this is their first write."""
    for _ in range(_ATTEMPTS):
        found: UUID | None = await db.fetchval(ENSURE_CUSTOMER, customer.issuer, customer.subject)
        if found is not None:
            return found
    raise RuntimeError(f"customer row could not be made in {_ATTEMPTS} attempts")


async def find_customer(db: Executor, customer: Customer) -> UUID | None:
    """The id of `customer`'s row; None when they never wrote anything (or were erased)."""
    found: UUID | None = await db.fetchval(SELECT_CUSTOMER_ID, customer.issuer, customer.subject)
    return found
