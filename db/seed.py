"""Writes the catalogue file into PostgreSQL: idempotent upserts by slug.

A micro service's UUID is assigned by the database on first insert and never changed by a
re-seed; entries removed from the file are deactivated rather than deleted, so old jobs keep a
valid reference.
"""

from __future__ import annotations

from dataclasses import dataclass

from db import queries
from db.notifications import BUMP_CATALOGUE_VERSION
from db.pool import Connection
from domain.catalogue import Catalogue


@dataclass(frozen=True, slots=True)
class SeedResult:
    changed: tuple[str, ...]  # micro service slugs inserted or updated
    deactivated: tuple[str, ...]  # micro service slugs no longer in the file

    @property
    def touched(self) -> tuple[str, ...]:
        """Every slug whose cached lookup result is now stale."""
        return self.changed + self.deactivated


async def seed_catalogue(conn: Connection, catalogue: Catalogue) -> SeedResult:
    """Upsert the whole catalogue in one transaction and report what changed."""
    categories = catalogue.categories
    subcategories = [(c, s) for c in categories for s in c.subcategories]
    services = list(catalogue.micro_services())
    async with conn.transaction():
        # Two servers starting at once would otherwise race on the same rows.
        await conn.execute(queries.ACQUIRE_SEED_XACT_LOCK, queries.SEED_LOCK_KEY)
        await conn.execute(
            queries.UPSERT_CATEGORIES,
            [c.slug for c in categories],
            [c.name for c in categories],
            [c.position for c in categories],
        )
        await conn.execute(
            queries.UPSERT_SUBCATEGORIES,
            [c.slug for c, _ in subcategories],
            [s.slug for _, s in subcategories],
            [s.name for _, s in subcategories],
            [s.position for _, s in subcategories],
        )
        changed = await conn.fetch(
            queries.UPSERT_MICRO_SERVICES,
            [m.slug for m in services],
            [m.name for m in services],
            [m.category for m in services],
            [m.subcategory for m in services],
            [m.description for m in services],
            [m.position for m in services],
        )
        deactivated = await conn.fetch(
            queries.DEACTIVATE_MISSING_MICRO_SERVICES, [m.slug for m in services]
        )
        await conn.execute(
            queries.DEACTIVATE_MISSING_SUBCATEGORIES,
            [f"{c.slug}/{s.slug}" for c, s in subcategories],
        )
        await conn.execute(queries.DEACTIVATE_MISSING_CATEGORIES, [c.slug for c in categories])
        # Every seed announces a new catalogue version (once, at commit), even when no row
        # changed: the file it came from may differ in what only the file holds (questions).
        await conn.execute(BUMP_CATALOGUE_VERSION)
    return SeedResult(
        changed=tuple(row["slug"] for row in changed),
        deactivated=tuple(row["slug"] for row in deactivated),
    )
