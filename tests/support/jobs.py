"""Example jobs: one valid set of answers for the fixed catalogue entry `wall-painting`, and
the publishJob request around it."""

from __future__ import annotations

from typing import Any

import asyncpg

# A complete, valid set of answers for the fixed `wall-painting` micro service.
WALL_PAINTING_ANSWERS = {
    "room_type": "bedroom",
    "wall_count": 4,
    "wall_condition": "good",
    "paint_supplied": False,
    "property_type": "flat_apartment",
    "floor_level": "ground",
    "parking": "driveway",
    "start_timing": "flexible",
    "budget_range": "under_250",
}

# Every new job says where it is (publishJob's `location` is required).
EXAMPLE_LOCATION: dict[str, Any] = {"postcode": "SW1A 1AA"}

PUBLISH = """
mutation Publish($input: PublishJobInput!) {
  publishJob(input: $input) { job { id microId microUuid answers status } }
}
"""
READ_JOB = "query Job($id: UUID!) { job(id: $id) { id microId } }"


def wall_painting_answers(**changes: Any) -> dict[str, Any]:
    return {**WALL_PAINTING_ANSWERS, **changes}


def publish_input(
    idempotency_key: str | None = None,
    *,
    location: dict[str, Any] | None = None,
    photo_ids: list[str] | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """publishJob's variables for a valid wall-painting job; `changes` change answers."""
    payload: dict[str, Any] = {
        "microId": "wall-painting",
        "answers": wall_painting_answers(**changes),
        "location": EXAMPLE_LOCATION if location is None else location,
    }
    if idempotency_key is not None:
        payload["idempotencyKey"] = idempotency_key
    if photo_ids is not None:
        payload["photoIds"] = photo_ids
    return {"input": payload}


async def count_jobs(database_url: str) -> int:
    """How many jobs the database holds: what a refused or failed publish must leave as it was."""
    conn = await asyncpg.connect(database_url)
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM jobs")
    finally:
        await conn.close()
    return count
