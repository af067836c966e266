"""The event-buffer part of GET /health."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # api.services imports monitoring.events; avoid the cycle at run time
    from api.services import Services


def events_health(services: Services) -> dict[str, Any]:
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
    return events
