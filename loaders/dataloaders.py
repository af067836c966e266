"""The request-scoped DataLoaders. Built fresh for every request in the view's `get_context`:
a DataLoader memoizes, and a memo shared across requests would serve stale rows to strangers."""

from __future__ import annotations

import functools
from uuid import UUID

import asyncpg
from aiodataloader import DataLoader

from db.errors import is_transient
from db.pool import connection_within
from db.records import JobRecord, MicroServiceRecord
from db.repository import fetch_jobs_by_ids
from db.uploads import UploadRecord, fetch_photos_by_job_ids
from domain.errors import ServiceUnavailableError
from loaders.lookup import MicroServiceLookup, Resolved


class MicroServiceLoader(DataLoader[str, MicroServiceRecord | None]):
    """Slug -> micro service; all the slugs of one tick become one lookup. `observed=False`
    for slugs the server chose (suggestions): those are not lookup events."""

    def __init__(self, lookup: MicroServiceLookup, *, observed: bool = True) -> None:
        super().__init__()
        self._lookup = lookup
        self._observed = observed

    # aiodataloader's annotation omits the per-key Exception values it documents and supports.
    async def batch_load_fn(self, slugs: list[str]) -> list[Resolved]:  # type: ignore[override]
        # A slug the lookup cannot answer now gets its LookupUnavailableError in its own slot
        # (aiodataloader rejects just that key), so cached slugs of the same batch still load.
        return await self._lookup.resolve_each(slugs, observed=self._observed)


class JobLoader(DataLoader[UUID, JobRecord | None]):
    """Job id -> job, so that many `job(id:)` fields cost one statement."""

    def __init__(self, pool: asyncpg.Pool, statement_timeout: float) -> None:
        super().__init__()
        self._pool = pool
        self._timeout = statement_timeout

    async def batch_load_fn(self, ids: list[UUID]) -> list[JobRecord | None]:
        async with connection_within(self._pool, self._timeout, "job read") as conn:
            found = await fetch_jobs_by_ids(conn, ids=ids)
        return [found.get(job_id) for job_id in ids]


class JobPhotosLoader(DataLoader[UUID, list[UploadRecord]]):
    """Job id -> its photos in order, so that the photos of many jobs cost one statement."""

    def __init__(self, pool: asyncpg.Pool, statement_timeout: float) -> None:
        super().__init__()
        self._pool = pool
        self._timeout = statement_timeout

    async def batch_load_fn(self, job_ids: list[UUID]) -> list[list[UploadRecord]]:
        try:
            async with connection_within(self._pool, self._timeout, "photo read") as conn:
                found = await fetch_photos_by_job_ids(conn, job_ids=job_ids)
        except Exception as exc:
            if is_transient(exc):  # "retry later", not a masked internal error
                raise ServiceUnavailableError("Photos cannot be read right now.") from exc
            raise
        return [found.get(job_id, []) for job_id in job_ids]


class Loaders:
    """The request's DataLoaders, each made on its first use: a request needs one or two of
    them, and making a DataLoader inspects its batch function."""

    def __init__(
        self, pool: asyncpg.Pool, lookup: MicroServiceLookup, statement_timeout: float
    ) -> None:
        self._pool = pool
        self._lookup = lookup
        self._timeout = statement_timeout

    @classmethod
    def create(
        cls, pool: asyncpg.Pool, lookup: MicroServiceLookup, *, statement_timeout: float
    ) -> Loaders:
        """`statement_timeout`: seconds each batch of job or photo reads may wait on the
        database, its pool acquire included."""
        return cls(pool, lookup, statement_timeout)

    async def micro_services_at_once(self, slugs: list[str]) -> list[MicroServiceRecord | None]:
        """Every one of `slugs` (repeats included, in order) in one batch, now: for a caller
        that holds all of a request's slugs at once (a compiled plan). It makes no DataLoader
        (nor the future, the callback and the tick a `load` costs per slug), and is recorded as
        the loader's own batch is. Fails as `load_many` does, with the error of the first slug
        that has one."""
        distinct = list(dict.fromkeys(slugs))
        found: dict[str, MicroServiceRecord | None] = {}
        for slug, value in zip(distinct, await self._lookup.resolve_each(distinct), strict=True):
            if isinstance(value, Exception):
                raise value
            found[slug] = value
        return [found[slug] for slug in slugs]

    @functools.cached_property
    def micro_services(self) -> MicroServiceLoader:
        return MicroServiceLoader(self._lookup)

    @functools.cached_property
    def suggested(self) -> MicroServiceLoader:
        """The same lookups, not recorded as lookup events."""
        return MicroServiceLoader(self._lookup, observed=False)

    @functools.cached_property
    def jobs(self) -> JobLoader:
        return JobLoader(self._pool, self._timeout)

    @functools.cached_property
    def job_photos(self) -> JobPhotosLoader:
        return JobPhotosLoader(self._pool, self._timeout)
