"""Helpers of the monitoring tests."""

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg


async def insert_events(
    url: str, latencies: Sequence[float], *, ago: timedelta = timedelta(0), **flags: Sequence[bool]
) -> None:
    """uuid_lookup events with the given latencies, `ago` in the past; `flags` gives per-event
    success / fallback_used / cache_hit (default True, False, False)."""
    rows = []
    for i, ms in enumerate(latencies):
        props = {
            "slug": f"s{i}",
            "uuid": None,
            "lookup_time_ms": ms,
            "success": flags["success"][i] if "success" in flags else True,
            "fallback_used": flags["fallback_used"][i] if "fallback_used" in flags else False,
            "cache_hit": flags["cache_hit"][i] if "cache_hit" in flags else False,
            "error_kind": None,
        }
        rows.append(("uuid_lookup", json.dumps(props), ago))
    conn = await asyncpg.connect(url)
    try:
        await conn.executemany(
            "INSERT INTO analytics_events (event_name, event_properties, created_at) "
            "VALUES ($1, $2::jsonb, now() - $3::interval)",
            rows,
        )
    finally:
        await conn.close()


def lookup_event(
    ms: float, *, success: bool = True, fallback: bool = False, hit: bool = False
) -> str:
    """One uuid_lookup event's properties, as the server writes them."""
    return json.dumps(
        {
            "slug": "wall-painting",
            "uuid": None,
            "lookup_time_ms": ms,
            "cache_hit": hit,
            "success": success,
            "fallback_used": fallback,
            "error_kind": None,
        }
    )


async def insert_event_rows(
    conn: asyncpg.Connection, rows: list[tuple[str, str, datetime]]
) -> None:
    """Rows of analytics_events: (event name, properties as JSON, created at)."""
    await conn.executemany(
        "INSERT INTO analytics_events (event_name, event_properties, created_at) "
        "VALUES ($1, $2::jsonb, $3)",
        rows,
    )
