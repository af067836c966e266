"""The process-wide services the lifespan builds once and every request shares."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from api.lookup_plans import LookupPlans
from api.persisted_queries import PersistedQueries
from api.settings import Settings
from domain.catalogue import Catalogue
from loaders.lookup import MicroServiceLookup
from monitoring.events import LookupEventBuffer


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    pool: asyncpg.Pool
    catalogue: Catalogue
    lookup: MicroServiceLookup
    persisted_queries: PersistedQueries = field(default_factory=PersistedQueries.in_memory)
    events: LookupEventBuffer | None = None  # None when LOOKUP_EVENTS is off
    # Catalogue reads (DATABASE_READ_URL, a replica); the primary `pool` when not set.
    read_pool: asyncpg.Pool | None = None
    lookup_plans: LookupPlans = field(default_factory=LookupPlans)

    @property
    def catalogue_pool(self) -> asyncpg.Pool:
        return self.pool if self.read_pool is None else self.read_pool
