"""`MicroServiceLookup`: the single path from slugs to micro service rows.

Every slug resolution of the application — the DataLoader's batches, publishJob, the wizard —
ends here, so that whatever wraps this call (cache, circuit breaker, retries, lookup events)
applies to all of them. One instance lives for the process; the per-request memo is the
DataLoader's job, not this one's.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from db.records import MicroServiceRecord
from db.repository import fetch_micro_services_by_slugs


class MicroServiceLookup:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def resolve(self, slugs: Sequence[str]) -> list[MicroServiceRecord | None]:
        """Rows for `slugs`, aligned with them (None for an unknown slug), in one statement."""
        unique = list(dict.fromkeys(slugs))
        if not unique:
            return []
        found = await fetch_micro_services_by_slugs(self._pool, slugs=unique)
        return [found.get(slug) for slug in slugs]
