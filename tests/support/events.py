"""Helpers of the monitoring tests."""

import json
from collections.abc import Sequence
from datetime import timedelta

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
