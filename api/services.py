"""The process-wide services the lifespan builds once and every request shares."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from api.settings import Settings
from domain.catalogue import Catalogue
from loaders.lookup import MicroServiceLookup


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    pool: asyncpg.Pool
    catalogue: Catalogue
    lookup: MicroServiceLookup
    # Catalogue reads (DATABASE_READ_URL, a replica); the primary `pool` when not set.
    read_pool: asyncpg.Pool | None = None

    @property
    def catalogue_pool(self) -> asyncpg.Pool:
        return self.pool if self.read_pool is None else self.read_pool
