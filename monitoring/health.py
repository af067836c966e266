"""The event-buffer part of GET /health."""

from __future__ import annotations

from typing import Any

from monitoring.events import LookupEventBuffer


def events_health(events: LookupEventBuffer | None) -> dict[str, Any]:
    report: dict[str, Any] = {"enabled": events is not None}
    if events is not None:
        status = events.status()
        report |= {
            "buffered": status.buffered,
            "capacity": status.capacity,
            "fill": round(status.fill, 4),
            "dropped": status.dropped,
            "written": status.written,
            "writeErrors": status.write_errors,
        }
    return report
