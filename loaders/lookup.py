"""`MicroServiceLookup`: the single path from slugs to micro service rows.

Every slug resolution of the application — the DataLoader's batches, publishJob, the wizard —
ends here, so that whatever wraps this call (cache, circuit breaker, retries, lookup events)
applies to all of them. One instance lives for the process; the per-request memo is the
DataLoader's job, not this one's.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

import asyncpg

from db.records import MicroServiceRecord
from db.repository import fetch_micro_services_by_slugs


@dataclass(frozen=True, slots=True)
class LookupEvent:
    """How one slug's lookup went; one per slug per batch."""

    slug: str
    uuid: UUID | None
    lookup_time_ms: float
    cache_hit: bool
    success: bool  # the lookup produced an answer (a row, or a definite "no such slug")
    fallback_used: bool  # the caller had to make do without a UUID (degraded)
    error_kind: str | None  # exception class name when the lookup failed


class LookupObserver(Protocol):
    """Told about every batch. Called inline on the request path, so it must not block or
    await: buffer and return."""

    def on_lookups(self, events: Sequence[LookupEvent]) -> None: ...


class MicroServiceLookup:
    def __init__(self, pool: asyncpg.Pool, observers: Sequence[LookupObserver] = ()) -> None:
        self._pool = pool
        self._observers = tuple(observers)

    async def resolve(self, slugs: Sequence[str]) -> list[MicroServiceRecord | None]:
        """Rows for `slugs`, aligned with them (None for an unknown slug), in one statement."""
        unique = list(dict.fromkeys(slugs))
        if not unique:
            return []
        started = time.perf_counter()
        try:
            found = await fetch_micro_services_by_slugs(self._pool, slugs=unique)
        except Exception as exc:
            self._report(unique, {}, started, error=exc)
            raise
        self._report(unique, found, started)
        return [found.get(slug) for slug in slugs]

    def _report(
        self,
        slugs: Sequence[str],
        found: dict[str, MicroServiceRecord],
        started: float,
        *,
        error: BaseException | None = None,
    ) -> None:
        if not self._observers:
            return
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        events = [
            LookupEvent(
                slug=slug,
                uuid=record.id if (record := found.get(slug)) is not None else None,
                lookup_time_ms=elapsed_ms,
                cache_hit=False,
                success=error is None,
                fallback_used=False,
                error_kind=None if error is None else type(error).__name__,
            )
            for slug in slugs
        ]
        for observer in self._observers:
            observer.on_lookups(events)
