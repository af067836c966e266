"""The process-wide services the lifespan builds once and every request shares."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

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
    events: LookupEventBuffer | None = None  # None when LOOKUP_EVENTS is off
