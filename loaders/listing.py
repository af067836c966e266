"""Catalogue listings (filtered micro services, the category tree) that survive a database
outage: read from PostgreSQL under the lookup's statement timeout, and when that fails with an
infrastructure error, rebuilt from the catalogue file plus the lookup cache (warmed at start).
A slug the cache cannot answer then makes the field SERVICE_UNAVAILABLE, never a hang."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import asyncpg

from db import repository
from db.errors import is_transient
from db.records import CategoryRow, MicroServiceRecord, SubcategoryRow
from db.replica import ReadRoute
from domain.catalogue import Catalogue
from loaders.dataloaders import MicroServiceLoader

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CatalogueTree:
    categories: list[CategoryRow]
    subcategories: list[SubcategoryRow]
    micro_services: list[MicroServiceRecord]
    degraded: bool = False  # rebuilt from the catalogue file and the cache: the database failed


class _DatabaseDown(Exception):
    """The listing query failed with an infrastructure error: use the cache instead."""


async def _bounded(
    reads: ReadRoute, call: Callable[[asyncpg.Pool], Awaitable[T]], statement_timeout: float
) -> T:
    async def bounded(pool: asyncpg.Pool) -> T:
        async with asyncio.timeout(statement_timeout):
            return await call(pool)

    try:
        # On the replica while it is usable; on the primary when it fails there.
        return await reads.read(bounded)
    except Exception as exc:
        if not is_transient(exc):
            raise
        log.warning("catalogue listing from the database failed (%r); using the cache", exc)
        raise _DatabaseDown from exc


async def list_micro_services(
    reads: ReadRoute,
    catalogue: Catalogue,
    loader: MicroServiceLoader,
    *,
    statement_timeout: float,
    category: str | None = None,
    subcategory: str | None = None,
) -> list[MicroServiceRecord]:
    try:
        return await _bounded(
            reads,
            lambda pool: repository.list_micro_services(
                pool, category=category, subcategory=subcategory
            ),
            statement_timeout,
        )
    except _DatabaseDown:
        return await _cached_micro_services(catalogue, loader, category, subcategory)


async def category_tree(
    reads: ReadRoute,
    catalogue: Catalogue,
    loader: MicroServiceLoader,
    *,
    statement_timeout: float,
) -> CatalogueTree:
    try:
        cats, subs, services = await _bounded(
            reads,
            lambda pool: asyncio.gather(
                repository.list_categories(pool),
                repository.list_subcategories(pool),
                repository.list_micro_services(pool),
            ),
            statement_timeout,
        )
        return CatalogueTree(cats, subs, services)
    except _DatabaseDown:
        return CatalogueTree(
            categories=[CategoryRow(c.slug, c.name) for c in catalogue.categories],
            subcategories=[
                SubcategoryRow(c.slug, s.slug, s.name)
                for c in catalogue.categories
                for s in c.subcategories
            ],
            micro_services=await _cached_micro_services(catalogue, loader, None, None),
            degraded=True,
        )


async def _cached_micro_services(
    catalogue: Catalogue,
    loader: MicroServiceLoader,
    category: str | None,
    subcategory: str | None,
) -> list[MicroServiceRecord]:
    specs = [
        m
        for m in catalogue.micro_services()
        if (category is None or m.category == category)
        and (subcategory is None or m.subcategory == subcategory)
    ]
    # One lookup batch; raises LookupUnavailableError for a slug the cache does not hold.
    records = await loader.load_many([m.slug for m in specs])
    position = {m.slug: m.position for m in specs}
    found = [r for r in records if r is not None]
    # The same order as SELECT_MICRO_SERVICES_FILTERED.
    found.sort(key=lambda r: (r.category, r.subcategory, position[r.slug], r.slug))
    return found
