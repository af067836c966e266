"""GraphQL input types."""

from __future__ import annotations

from uuid import UUID

import strawberry
from strawberry.scalars import JSON


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
