"""The custom scalars as clients see them: each with a description that says its format and a
`@specifiedBy` URL, so that code generators and client libraries can map them to real types
(docs/clients.md). Strawberry's own parsers and serialisers are kept but for DateTime's output,
which is always UTC."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

from strawberry.scalars import JSON
from strawberry.schema.types.base_scalars import DateTimeDefinition, UUIDDefinition
from strawberry.schema.types.scalar import DEFAULT_SCALAR_REGISTRY
from strawberry.types.scalar import ScalarDefinition

UUID_SPEC = "https://www.rfc-editor.org/rfc/rfc9562"
DATETIME_SPEC = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"


def serialize_datetime(value: datetime) -> str:
    """RFC 3339 in UTC (`2025-03-01T09:30:00+00:00`): every instant is written one way, so that
    clients compare and cache them as text; a naive value is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC).isoformat()
    return value.astimezone(UTC).isoformat()


def parse_datetime(value: object) -> datetime:
    parsed = DateTimeDefinition.parse_value(value)  # type: ignore[misc]
    assert isinstance(parsed, datetime)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


UUID = replace(
    UUIDDefinition,
    description="A UUID as RFC 9562 writes it: 36 characters, lower-case hexadecimal in five "
    "hyphenated groups (`0b3c6f4e-8d1a-4c2e-9f7a-2d5e8b1c4a90`). Input in any case is accepted.",
    specified_by_url=UUID_SPEC,
)
DATETIME = replace(
    DateTimeDefinition,
    description="An instant as an RFC 3339 date-time with its offset "
    "(`2025-03-01T09:30:00+00:00`). Always UTC on output; on input any offset is accepted "
    "(`Z`, `+01:00`), and a value without one is read as UTC.",
    specified_by_url=DATETIME_SPEC,
    serialize=serialize_datetime,
    parse_value=parse_datetime,
)
JSON_OBJECT = replace(
    DEFAULT_SCALAR_REGISTRY[JSON],
    description="A JSON object (ECMA-404), such as a job's `answers`: question key -> answer. "
    "Sent as an object, not as a string holding JSON.",
)

SCALARS: dict[object, ScalarDefinition] = {
    uuid.UUID: UUID,
    datetime: DATETIME,
    JSON: JSON_OBJECT,
}
