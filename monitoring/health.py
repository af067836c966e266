"""The monitoring part of GET /health: breaker, cache and the lookup event buffer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from monitoring.resilience import resilience_status

if TYPE_CHECKING:  # api.services imports monitoring.events; avoid the cycle at run time
    from api.services import Services


def monitoring_health(services: Services) -> dict[str, Any]:
    resilience = resilience_status(services.lookup)
    events: dict[str, Any] = {"enabled": services.events is not None}
    if services.events is not None:
        status = services.events.status()
        events |= {
            "buffered": status.buffered,
            "capacity": status.capacity,
            "fill": round(status.fill, 4),
            "dropped": status.dropped,
            "written": status.written,
            "writeErrors": status.write_errors,
        }
    return {
        "breaker": {"state": resilience.breaker_state},
        "cache": {"backend": resilience.cache_backend},
        "events": events,
    }
