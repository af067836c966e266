"""GET /health: liveness and readiness in one JSON document.

status / HTTP code:
- "ok" / 200: the database answers and the lookup breaker is closed;
- "degraded" / 200: the database does not answer (or the breaker is not closed) but the lookup
  cache holds entries, so the wizard, cached lookups and slug-only job taking still work:
  keep this instance in rotation, it is as good as any other while the shared database is out;
- "unavailable" / 503: the database does not answer and the cache is empty (nothing to serve).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from api.invalidation import Invalidation
from api.state import HttpState
from context.state import AppState
from db.pool import connection_within, ping
from monitoring.health import events_health

REDIS_PROBE_TIMEOUT = 0.5


async def health(request: Request) -> JSONResponse:
    app: AppState = request.state.app_state
    database: dict[str, Any] = {"reachable": True}
    try:
        probe_timeout = app.settings.database_probe_timeout
        async with connection_within(app.pool, probe_timeout, "health probe") as conn:
            await ping(conn)
    except Exception as exc:  # any failure means "not ready"; the reason helps the operator
        database = {"reachable": False, "error": type(exc).__name__}
    lookup = app.lookup
    cache: dict[str, Any] = {
        "backend": lookup.cache.backend,
        "entries": len(lookup.cache.local),
        "maxEntries": lookup.cache.local.max_entries,
    }
    if lookup.cache.redis is not None:
        try:
            async with asyncio.timeout(REDIS_PROBE_TIMEOUT):
                reachable = await lookup.cache.redis_reachable()
        except TimeoutError:
            reachable = False
        cache["redis"] = {"reachable": reachable, "errors": lookup.cache.redis_errors}
    breaker = {"state": lookup.breaker_state, "failures": lookup.breaker.fail_counter}
    if database["reachable"] and breaker["state"] == "closed":
        status, code = "ok", 200
    elif cache["entries"] > 0:
        status, code = "degraded", 200
    elif database["reachable"]:
        status, code = "degraded", 200  # the breaker is recovering; the database answers
    else:
        status, code = "unavailable", 503
    pool = app.pool
    body = {
        "status": status,
        # Which process answered: with WORKERS > 1 each worker is a process of its own.
        "pid": os.getpid(),
        "invalidation": _invalidation(request),
        "database": database,
        "pool": {
            "size": pool.get_size(),
            "idle": pool.get_idle_size(),
            "max": pool.get_max_size(),
        },
        "catalogue": {"microServices": len(app.catalogue.by_slug)},
        "replica": _replica(app),
        "breaker": breaker,
        "cache": cache,
        "events": events_health(app.events),
        "rateLimits": _rate_limits(request),
        # "keywords" until the embedding model is loaded (or when it is off or failed to load).
        "search": {"ranking": _ranking(app)},
        "identity": _identity(app),
    }
    return JSONResponse(body, status_code=code)


def _replica(app: AppState) -> dict[str, Any]:
    """The read replica as this process last saw it; "none" without `DATABASE_REPLICA_URL`.
    A replica that is not "ok" is left for the primary: readiness does not depend on it."""
    replica = app.catalogue_reads.replica
    if replica is None:
        return {"state": "none"}
    status = replica.status()
    return {
        "state": status.state,
        "lagSeconds": None if status.lag_seconds is None else round(status.lag_seconds, 3),
        "maxLagSeconds": replica.max_lag,
        "fallbacks": status.fallbacks,
    }


def _rate_limits(request: Request) -> dict[str, Any]:
    """Whether requests are counted, and where: "redis" (shared by every process) or "memory"
    (this process's own, also while Redis is down or stalled)."""
    http: HttpState = request.state.http_state
    limits = http.rate_limits
    if limits is None or not limits.enabled:
        return {"enabled": False}
    return {"enabled": True, "storage": limits.storage}


def _identity(app: AppState) -> dict[str, Any]:
    """Whose tokens customers call with, whether that is the development provider (anyone can
    sign in as anyone), and how the issuer's keys are doing. Not part of the status: customers'
    tokens keep verifying with the keys held while the issuer is down."""
    tokens = app.tokens
    if tokens is None:
        return {"customers": False}
    keys = tokens.keys
    age = keys.age
    return {
        "customers": True,
        "issuer": tokens.issuer,
        "development": app.settings.oidc_development,
        "keys": {
            "held": keys.held,
            "ageSeconds": None if age is None else round(age),
            "fetches": keys.fetches,
            "failures": keys.failures,
        },
    }


def _ranking(app: AppState) -> str:
    if app.search is None:
        return "none"
    return "hybrid" if app.search.hybrid else "keywords"


def _invalidation(request: Request) -> dict[str, Any]:
    """Whether this process hears catalogue changes and key revocations (its caches are used
    only while it does), and the response cache's state."""
    invalidation: Invalidation | None = getattr(request.state, "invalidation", None)
    http: HttpState = request.state.http_state
    cache = http.response_cache
    report: dict[str, Any] = {
        "listening": invalidation is not None and invalidation.live(),
        "notices": 0 if invalidation is None else invalidation.notices,
    }
    if cache is not None:
        report["responseCache"] = {
            "catalogueVersion": cache.version,
            "bytes": cache.local_bytes,
            "classBytes": cache.class_bytes,
            "memoBytes": cache.memo_bytes,
            "hits": cache.hits,
            "misses": cache.misses,
        }
    return report
