"""GET /metrics: Prometheus text format."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from context.state import AppState
from monitoring import metrics as prometheus_metrics


async def metrics(request: Request) -> Response:
    app: AppState = request.state.app_state
    # Gauges that only change between lookups are refreshed now, so a scrape never reads a
    # breaker state or buffer fill older than itself.
    prometheus_metrics.set_breaker_state(app.lookup.breaker_state)
    if app.events is not None:
        prometheus_metrics.EVENT_BUFFER_FILL.set(app.events.status().buffered)
    replica = app.catalogue_reads.replica
    if replica is not None:
        status = replica.status()
        prometheus_metrics.set_replica_state(status.state, status.lag_seconds, status.fallbacks)
    body, content_type = prometheus_metrics.render()
    return Response(body, media_type=content_type)
