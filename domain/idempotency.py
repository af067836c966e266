"""Idempotent job storage: the same caller + key + input yields the same job, never a second one.

The key is claimed in the same transaction as the job it names, through a primary key on
(api key, idempotency key): of any number of concurrent duplicates exactly one commits a job;
the others wait on that key, roll their own job back, and answer with the winner's job. A
request that fails validation never reaches this module, so it stores nothing and may be
corrected and retried under the same key.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from uuid import UUID

from db.idempotency import claim_idempotency_key, fetch_claimed_job, insert_owned_job
from db.pool import Connection
from db.records import JobRecord
from domain.errors import BadUserInputError

MAX_KEY_LENGTH = 255
# Keys are honoured for at least this long; `purge-idempotency-keys` never deletes younger ones.
RETENTION_SECONDS = 24 * 60 * 60
IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
_ATTEMPTS = 3  # a claimed key can vanish between two statements only if it is purged meanwhile


class _KeyTaken(Exception):
    """Raised inside the transaction to roll back the job we inserted for a taken key."""


def choose_key(input_key: str | None, header_key: str | None) -> str | None:
    """The request's idempotency key, from the input or the `Idempotency-Key` header (they
    mean the same; both may be sent only when equal)."""
    if input_key is not None and header_key is not None and input_key != header_key:
        raise BadUserInputError(
            "idempotencyKey and the Idempotency-Key header differ.",
            fields={"idempotencyKey": "Must equal the Idempotency-Key header when both are sent."},
        )
    key = input_key if input_key is not None else header_key
    if key is not None and not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise BadUserInputError(
            f"An idempotency key is 1 to {MAX_KEY_LENGTH} characters long.",
            fields={"idempotencyKey": f"Must be 1 to {MAX_KEY_LENGTH} characters long."},
        )
    return key


def request_fingerprint(micro_id: str, answers: dict[str, Any]) -> str:
    """SHA-256 of what the job would store, canonically encoded: equal for equal input."""
    canonical = json.dumps(
        {"microId": micro_id, "answers": answers},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


async def store_job(
    conn: Connection,
    *,
    micro_id: str,
    micro_uuid: UUID | None,
    answers: dict[str, Any],
    api_key_id: UUID | None,
    idempotency_key: str | None,
) -> JobRecord:
    """Store a validated job (once per idempotency key, when one is given)."""
    if idempotency_key is None:
        async with conn.transaction():
            return await insert_owned_job(
                conn,
                micro_id=micro_id,
                micro_uuid=micro_uuid,
                answers=answers,
                api_key_id=api_key_id,
            )
    if api_key_id is None:
        # Keys are scoped to the caller; without one there is no caller to scope them to.
        raise BadUserInputError("An idempotency key needs an API key to be scoped to.")
    fingerprint = request_fingerprint(micro_id, answers)
    for _ in range(_ATTEMPTS):
        try:
            async with conn.transaction():
                job = await insert_owned_job(
                    conn,
                    micro_id=micro_id,
                    micro_uuid=micro_uuid,
                    answers=answers,
                    api_key_id=api_key_id,
                )
                if await claim_idempotency_key(
                    conn,
                    api_key_id=api_key_id,
                    key=idempotency_key,
                    request_sha256=fingerprint,
                    job_id=job.id,
                ):
                    return job
                raise _KeyTaken
        except _KeyTaken:
            pass
        claimed = await fetch_claimed_job(conn, api_key_id=api_key_id, key=idempotency_key)
        if claimed is None:
            continue  # purged between our two statements: claim it afresh
        if claimed.request_sha256 != fingerprint:
            raise BadUserInputError(
                "This idempotency key was already used for a different job input.",
                fields={"idempotencyKey": "Already used with a different input; use a new key."},
                reason=IDEMPOTENCY_KEY_REUSED,
            )
        return claimed.job
    raise RuntimeError(f"idempotency key could not be claimed in {_ATTEMPTS} attempts")
