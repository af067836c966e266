"""Finding and suggesting services: free-text search, related services from real jobs, and the
services popular in an area. Each returns catalogue records with why they were chosen."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from context import Context, Info
from context.state import AppState
from db.errors import is_transient
from db.pool import connection_within
from db.records import MicroServiceRecord
from db.suggestions import fetch_popular_services, fetch_related_services
from domain.catalogue import Catalogue
from domain.errors import ServiceUnavailableError
from domain.suggestions import check_days, check_first, check_postcode_area
from monitoring.metrics import SEARCHES

T = TypeVar("T")

log = logging.getLogger(__name__)

RELATED_FROM_JOBS = "customers who posted this also posted"
RELATED_FROM_SUBCATEGORY = "same subcategory"


@dataclass(frozen=True, slots=True)
class ServiceMatchNode:
    micro_service: MicroServiceRecord
    score: float
    matched_on: str | None


def category_path(root: ServiceMatchNode, info: Info) -> list[str]:
    """The category and subcategory names of the matched service, for showing under it."""
    return path_of(info.context.app.catalogue, root.micro_service)


def path_of(catalogue: Catalogue, record: MicroServiceRecord) -> list[str]:
    for category in catalogue.categories:
        if category.slug == record.category:
            for subcategory in category.subcategories:
                if subcategory.slug == record.subcategory:
                    return [category.name, subcategory.name]
            return [category.name]
    return []


@dataclass(frozen=True, slots=True)
class PopularServiceNode:
    micro_service: MicroServiceRecord
    jobs: int


# searchServices' `first` when the request leaves it out (the schema's default is this one).
SEARCH_FIRST = 5


async def search_services(
    info: Info, text: str, first: int = SEARCH_FIRST
) -> list[ServiceMatchNode]:
    return await find_services(info.context, text, first)


async def find_services(context: Context, text: str, first: int) -> list[ServiceMatchNode]:
    """searchServices. Takes the context rather than `info`, so that it runs apart from
    graphql-core too."""
    search = context.app.search
    if search is None:
        raise ServiceUnavailableError("Service search is not available in this process.")
    # Asks for spare matches: a service retired since start-up is dropped by the lookup.
    matches = await search.search(text, first, candidates=first + 5)
    if text.strip():
        SEARCHES.labels(answered_by=matches.answered_by).inc()
    if not matches.final:
        context.cacheable = False  # keywords stood in for a late model: not kept
    records = await context.loaders.suggested.load_many([m.slug for m in matches])
    found = [
        ServiceMatchNode(record, match.score, match.matched_on)
        for match, record in zip(matches, records, strict=True)
        if record is not None
    ]
    if not found and text.strip():
        context.app.business.search_without_match(text)
    return found[:first]


async def related_services(info: Info, micro_uuid: UUID, first: int = 5) -> list[ServiceMatchNode]:
    check_first(first)
    app = info.context.app
    try:
        related = await _read(
            app,
            "related services",
            lambda conn: fetch_related_services(conn, micro_uuid=micro_uuid, first=first),
        )
    except Exception as exc:
        raise _unavailable(exc) from exc
    records = await info.context.loaders.suggested.load_many([r.slug for r in related])
    return [
        ServiceMatchNode(
            record,
            score=round(r.lift, 4) if r.lift is not None else 0.0,
            matched_on=RELATED_FROM_JOBS if r.source == "jobs" else RELATED_FROM_SUBCATEGORY,
        )
        for r, record in zip(related, records, strict=True)
        if record is not None
    ]


async def popular_services(
    info: Info, postcode_area: str | None = None, days: int = 30, first: int = 10
) -> list[PopularServiceNode]:
    area = check_postcode_area(postcode_area)
    check_days(days)
    check_first(first)
    app = info.context.app
    try:
        popular = await _read(
            app,
            "popular services",
            lambda conn: fetch_popular_services(conn, postcode_area=area, days=days, first=first),
        )
    except Exception as exc:
        raise _unavailable(exc) from exc
    records = await info.context.loaders.suggested.load_many([p.slug for p in popular])
    return [
        PopularServiceNode(record, p.jobs)
        for p, record in zip(popular, records, strict=True)
        if record is not None
    ]


async def _read(
    app: AppState, what: str, fetch: Callable[[PoolConnectionProxy], Awaitable[T]]
) -> T:
    """`fetch` on a catalogue-route connection (the replica while it is usable, the primary when
    it fails there), its acquire and statements under one statement timeout."""
    timeout = app.settings.db_statement_timeout_ms / 1000

    async def on(pool: asyncpg.Pool) -> T:
        async with connection_within(pool, timeout, what) as conn:
            return await fetch(conn)

    return await app.catalogue_reads.read(on)


def _unavailable(exc: Exception) -> Exception:
    if is_transient(exc):
        log.warning("suggestions unavailable: %r", exc)
        return ServiceUnavailableError("Suggestions are unavailable right now; retry shortly.")
    return exc
