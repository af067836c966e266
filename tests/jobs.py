"""A valid publishJob request for the fixed catalogue entry `wall-painting`."""

from __future__ import annotations

from typing import Any

from tests.support import WALL_PAINTING_ANSWERS

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
