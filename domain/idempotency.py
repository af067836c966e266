"""Idempotency keys: which key a request carries, and the fingerprint of what it asks to store.

How a key is claimed with its job, exactly once, is db/idempotency.py's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from domain.contact import Contact
from domain.errors import BadUserInputError
from domain.location import Location

MAX_KEY_LENGTH = 255
# Keys are honoured for at least this long; `purge-idempotency-keys` never deletes younger ones.
RETENTION_SECONDS = 24 * 60 * 60
IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"


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


def request_fingerprint(
    slug: str,
    answers: dict[str, Any],
    location: Location | None = None,
    photo_ids: Sequence[UUID] = (),
    *,
    customer_ref_hash: str | None = None,
    contact: Contact | None = None,
    description: str | None = None,
) -> str:
    """SHA-256 of what the job would store, canonically encoded: equal for equal input. A part
    that is absent adds nothing, so keys stored before it existed keep their fingerprints."""
    stored: dict[str, Any] = {"microId": slug, "answers": answers}
    if location is not None:
        stored["location"] = [location.postcode.postcode, location.address_line]
    if photo_ids:
        stored["photoIds"] = [str(i) for i in photo_ids]
    if customer_ref_hash is not None:
        stored["customerRef"] = customer_ref_hash
    if contact is not None:
        stored["contact"] = [contact.name, contact.email, contact.phone, contact.preferred.value]
    if description is not None:
        stored["description"] = description
    canonical = json.dumps(
        stored,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
