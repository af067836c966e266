"""What the resilience layer (cache, circuit breaker) reports, read in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ResilienceStatus:
    breaker_state: str  # "closed" | "open" | "half-open"
    cache_backend: str  # e.g. "memory", "redis"; "none" without a cache


def resilience_status(lookup: object) -> ResilienceStatus:
    """The breaker state and cache backend of `lookup` (a MicroServiceLookup).

    Read defensively because the resilience layer (issue 3: `breaker_state`, `cache_backend`
    on MicroServiceLookup) is built in parallel and has not landed on main yet: without it there
    is no breaker, which is the same as one that is always closed, and no cache. At merge, read
    the attributes directly; alerts, /health and /metrics all come through here.
    """
    state = getattr(lookup, "breaker_state", "closed")
    backend = getattr(lookup, "cache_backend", "none")
    return ResilienceStatus(
        breaker_state=state if isinstance(state, str) else "closed",
        cache_backend=backend if isinstance(backend, str) else type(backend).__name__,
    )
