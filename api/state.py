"""What the HTTP layer keeps per process beside the resolvers' `AppState`."""

from __future__ import annotations

from dataclasses import dataclass, field

from api.persisted_queries import PersistedQueries
from api.plans import Plans
from api.rate_limits import RateLimits
from api.response_cache import ResponseCache
from api.upload_body import MemoryBudget
from api.uploads import UploadService
from config import Settings


@dataclass(frozen=True, slots=True)
class HttpState:
    settings: Settings
    persisted_queries: PersistedQueries
    plans: Plans = field(default_factory=Plans)
    response_cache: ResponseCache | None = None  # None when RESPONSE_CACHE is off
    uploads: UploadService | None = None  # POST /uploads and GET /media answer 503 without it
    rate_limits: RateLimits | None = None  # None: not configured (RATE_LIMITS=false)
    # Upload bodies held in memory at once (UPLOAD_MEMORY_BYTES); the rest go to disk.
    upload_memory: MemoryBudget = field(default_factory=lambda: MemoryBudget(0))
