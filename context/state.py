"""What the lifespan builds once per process and every request's resolvers share."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from config import Settings
from context.key_cache import KeyCache
from context.tokens import TokenVerifier
from db.media_store import MediaStore
from db.replica import ReadRoute
from db.url_signing import UrlSigningSecret
from domain.catalogue import Catalogue
from loaders.lookup import MicroServiceLookup
from monitoring.business import BusinessCounts
from monitoring.events import LookupEventBuffer
from monitoring.live import LiveMonitor
from search import LiveSearch


@dataclass(frozen=True, slots=True)
class AppState:
    settings: Settings
    pool: asyncpg.Pool
    catalogue: Catalogue
    lookup: MicroServiceLookup
    events: LookupEventBuffer | None = None  # None when LOOKUP_EVENTS is off
    # Catalogue reads (DATABASE_REPLICA_URL, a replica); the primary `pool` when not set.
    read_pool: asyncpg.Pool | None = None
    # Where catalogue reads go now (the replica while it is usable, else the primary).
    reads: ReadRoute | None = None
    # Verified API keys and unknown key hashes (None: every request checks the database).
    keys: KeyCache | None = None
    # Service search (searchServices); None only where an app is assembled without it.
    search: LiveSearch | None = None
    # Where photos' bytes live, and the secret their URLs are signed with (one per database).
    media_store: MediaStore | None = None
    media_url_secret: UrlSigningSecret | None = None
    # Customers' access tokens (None without OIDC_ISSUER: no bearer is a customer).
    tokens: TokenVerifier | None = None
    # Live stats and alerts for subscriptions (and the alert history), shared by the process.
    live: LiveMonitor | None = None
    # The business view's counts, buffered and added to the database by a periodic flush.
    business: BusinessCounts = field(default_factory=BusinessCounts)

    def require_live(self) -> LiveMonitor:
        assert self.live is not None, "the lifespan starts the live monitor"
        return self.live

    # The monitoring fields' own small pool, with its own statement timeout; `pool` when None.
    ops_pool: asyncpg.Pool | None = None
    # Where monitoring reads go now: like `reads`, over the monitoring pools.
    ops_reads: ReadRoute | None = None

    @property
    def monitoring_pool(self) -> asyncpg.Pool:
        if self.ops_reads is not None:
            return self.ops_reads.pool()
        return self.pool if self.ops_pool is None else self.ops_pool

    @property
    def catalogue_reads(self) -> ReadRoute:
        if self.reads is not None:
            return self.reads
        return ReadRoute(self.pool if self.read_pool is None else self.read_pool)

    @property
    def catalogue_pool(self) -> asyncpg.Pool:
        return self.catalogue_reads.pool()
