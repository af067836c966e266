"""Example jobs: one valid set of answers for the fixed catalogue entry `wall-painting`, and
the publishJob request around it."""

from __future__ import annotations

from typing import Any

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

PUBLISH = """
mutation Publish($input: PublishJobInput!) {
  publishJob(input: $input) { job { id microId microUuid answers status } }
}
"""
READ_JOB = "query Job($id: UUID!) { job(id: $id) { id microId } }"


def wall_painting_answers(**changes: Any) -> dict[str, Any]:
    return {**WALL_PAINTING_ANSWERS, **changes}


def publish_input(idempotency_key: str | None = None, **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "microId": "wall-painting",
        "answers": wall_painting_answers(**changes),
    }
    if idempotency_key is not None:
        payload["idempotencyKey"] = idempotency_key
    return {"input": payload}


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]
