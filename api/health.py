"""GET /health: liveness and readiness in one JSON document."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from api.services import Services
from monitoring.health import monitoring_health

DATABASE_PROBE_TIMEOUT = 1.0


async def health(request: Request) -> JSONResponse:
    services: Services = request.state.services
    database: dict[str, Any] = {"reachable": True}
    try:
        await asyncio.wait_for(services.pool.fetchval("SELECT 1"), DATABASE_PROBE_TIMEOUT)
    except Exception as exc:  # any failure means "not ready"; the reason helps the operator
        database = {"reachable": False, "error": type(exc).__name__}
    ready = bool(database["reachable"])
    body = {
        "status": "ok" if ready else "unavailable",
        "database": database,
        "catalogue": {"microServices": len(services.catalogue.by_slug)},
        **monitoring_health(services),
    }
    return JSONResponse(body, status_code=200 if ready else 503)
