"""GraphQL input types."""

from __future__ import annotations

from uuid import UUID

import strawberry
from strawberry.scalars import JSON


@strawberry.input(description="Where the job is.")
class LocationInput:
    postcode: str = strawberry.field(
        description="A UK postcode; case and spaces do not matter (`sw1a1aa`). Stored and "
        "returned normalised (`SW1A 1AA`)."
    )
    address_line: str | None = strawberry.field(
        default=None,
        description="Optional first line of the address, at most 200 characters. Personal "
        "data: shown only to the publishing key or a key with jobs:read.",
    )


@strawberry.input
class PublishJobInput:
    micro_id: str = strawberry.field(description="The micro service's slug.")
    micro_uuid: UUID | None = strawberry.field(
        default=None, description="Optional; when given it must be microId's UUID."
    )
    answers: JSON = strawberry.field(description="Object: question id -> answer.")
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Same key + same input from the same caller -> the same job.",
    )
    customer_ref: str | None = strawberry.field(
        default=None,
        description="Your own opaque id of the customer (1 to 100 characters), so that "
        "relatedServices learns what customers post together. Stored only as a hash keyed by "
        "your API key: it is never shown back and never links to another partner's customers.",
    )
    location: LocationInput = strawberry.field(description="Where the job is; required.")
    photo_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="Up to 10 ids of `POST /uploads` answers of the same API key, not attached "
        "to another job; `Job.photos` keeps their order.",
    )
