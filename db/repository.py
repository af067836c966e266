"""Repository functions: each takes a connection (or pool) and keyword-only arguments."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from db import queries
from db.pool import Connection
from db.records import CategoryRow, JobRecord, MicroServiceRecord, SubcategoryRow

Executor = asyncpg.Pool | Connection


async def fetch_micro_services_by_slugs(
    db: Executor, *, slugs: Sequence[str], statement_timeout: float | None = None
) -> dict[str, MicroServiceRecord]:
    """Active micro services for `slugs`, keyed by slug, in one statement (cancelled on the
    server when `statement_timeout` seconds pass)."""
    rows = await db.fetch(
        queries.SELECT_MICRO_SERVICES_BY_SLUGS, list(slugs), timeout=statement_timeout
    )
    return {row["slug"]: MicroServiceRecord.from_row(row) for row in rows}


async def list_micro_services(
    db: Executor, *, category: str | None = None, subcategory: str | None = None
) -> list[MicroServiceRecord]:
    rows = await db.fetch(queries.SELECT_MICRO_SERVICES_FILTERED, category, subcategory)
    return [MicroServiceRecord.from_row(row) for row in rows]


async def list_categories(db: Executor) -> list[CategoryRow]:
    return [CategoryRow(r["slug"], r["name"]) for r in await db.fetch(queries.SELECT_CATEGORIES)]


async def list_subcategories(db: Executor) -> list[SubcategoryRow]:
    rows = await db.fetch(queries.SELECT_SUBCATEGORIES)
    return [SubcategoryRow(r["category"], r["slug"], r["name"]) for r in rows]


async def fetch_jobs_by_ids(db: Executor, *, ids: Sequence[UUID]) -> dict[UUID, JobRecord]:
    rows = await db.fetch(queries.SELECT_JOBS_BY_IDS, list(ids))
    return {row["id"]: JobRecord.from_row(row) for row in rows}
