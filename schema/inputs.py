"""GraphQL input types."""

from __future__ import annotations

from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from domain.contact import ContactDraft, ContactMethod
from domain.jobs import JobOutcome
from schema.types import ContactMethod as ContactMethodEnum
from schema.types import JobOutcome as JobOutcomeEnum


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


@strawberry.input(description="How the tradesperson may reach the customer. Personal data.")
class ContactInput:
    name: str = strawberry.field(description="1 to 100 characters.")
    email: str = strawberry.field(
        description="Checked for its form (not its mailbox) and stored normalised."
    )
    phone: str | None = strawberry.field(
        default=None,
        description="A UK number (`07700 900123`) or one with its country code; stored in "
        "E.164 (`+447700900123`).",
    )
    preferred_contact: ContactMethod = strawberry.field(
        default=ContactMethod.ANY,
        graphql_type=ContactMethodEnum,
        description="PHONE needs a phone.",
    )

    def draft(self) -> ContactDraft:
        return ContactDraft(self.name, self.email, self.phone, self.preferred_contact)


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
        description="Up to 10 ids of `POST /uploads` answers of the same caller, not attached "
        "to another job; `Job.photos` keeps their order.",
    )
    contact: ContactInput | None = strawberry.field(
        default=None,
        description="Required when a customer publishes; optional for an API key. Shown only "
        "to the job's customer and the key that published it.",
    )
    description: str | None = strawberry.field(
        default=None,
        description="Anything else the tradesperson should know: up to 2,000 characters.",
    )


@strawberry.input(description="What to change in a PUBLISHED job; what is left out stays.")
class UpdateJobInput:
    id: UUID
    expected_version: int | None = strawberry.field(
        default=None,
        description="The version the change is based on: CONFLICT (with "
        "extensions.currentVersion) when the job is at another.",
    )
    answers: JSON | None = strawberry.field(
        default=None, description="All the answers, replacing the stored ones."
    )
    description: str | None = strawberry.field(
        default=None, description="Up to 2,000 characters; an empty string removes it."
    )
    location: LocationInput | None = None
    photo_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="The job's photos from now on, in order; [] removes them."
    )
    contact: ContactInput | None = None


@strawberry.input
class CancelJobInput:
    id: UUID
    reason: str | None = strawberry.field(default=None, description="Up to 500 characters.")


@strawberry.input
class CloseJobInput:
    id: UUID
    outcome: JobOutcome = strawberry.field(graphql_type=JobOutcomeEnum)
