"""publishJob's flow: which micro service, which UUID (through the lookup, degrading to
slug-only), which answers; stored whole or not at all."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg

from db.errors import is_transient
from db.idempotency import NewJob, store_job
from db.pool import connection_within
from db.records import JobRecord
from domain.answers import validate_answers
from domain.api_keys import ApiKey
from domain.catalogue import Catalogue, MicroServiceSpec, shown
from domain.contact import (
    Contact,
    ContactDraft,
    parse_description,
    required_contact_missing,
)
from domain.customers import Customer
from domain.errors import BadUserInputError, ServiceUnavailableError
from domain.location import parse_location
from domain.uploads import parse_photo_ids
from loaders.dataloaders import MicroServiceLoader
from loaders.errors import LookupUnavailableError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JobDraft:
    slug: str  # `microId` in the API
    micro_uuid: UUID | None
    answers: Any
    # The publishing API key or customer: the job's owner. None only below the API.
    publisher: ApiKey | Customer | None = None
    idempotency_key: str | None = None  # see db/idempotency.py
    customer_ref_hash: str | None = None  # see domain/suggestions.py
    # As the client sent them: checked here (domain/location.py, domain/uploads.py,
    # domain/contact.py).
    postcode: str | None = None
    address_line: str | None = None
    photo_ids: Sequence[str] | None = None
    contact: ContactDraft | None = field(default=None, repr=False)
    description: str | None = field(default=None, repr=False)


def checked_spec(catalogue: Catalogue, slug: str) -> MicroServiceSpec:
    """The micro service a job names, which must exist in the catalogue file and be offered."""
    spec = catalogue.micro_service(slug)
    if spec is None:
        # The questions come from the catalogue file; without them no answer can be checked.
        raise BadUserInputError(
            f"Unknown micro service '{shown(slug)}'.",
            fields={"microId": "No micro service has this slug."},
        )
    if not spec.active:
        # Retired: its old jobs keep their reference, but it takes no new ones.
        raise BadUserInputError(
            f"Micro service '{slug}' is no longer offered.",
            fields={"microId": "This micro service is no longer offered."},
        )
    return spec


def checked_contact(
    draft: ContactDraft | None, publisher: ApiKey | Customer | None, region: str
) -> Contact | None:
    """The contact details, checked; required when a customer publishes."""
    if draft is None:
        if isinstance(publisher, Customer):
            raise required_contact_missing()
        return None
    return draft.checked(region)


async def publish_job(
    *,
    pool: asyncpg.Pool,
    catalogue: Catalogue,
    micro_services: MicroServiceLoader,
    draft: JobDraft,
    resolve_uuid: bool = True,
    statement_timeout: float,
    phone_region: str = "GB",
) -> JobRecord:
    """Validate `draft` and store it as a job; raise a `DomainError` for anything the client
    should see (nothing is stored then). With `resolve_uuid` off (the operator's rollback to
    slug-only, `JOB_UUIDS=false`) the job is stored slug-only without any lookup. The insert,
    its pool acquire included, is bounded by `statement_timeout` seconds."""
    spec = checked_spec(catalogue, draft.slug)
    answers = validate_answers(spec, draft.answers)
    # Required of every new job; None only for callers below the API (old-style test drafts).
    location = (
        parse_location(draft.postcode, draft.address_line) if draft.postcode is not None else None
    )
    photo_ids = parse_photo_ids(draft.photo_ids)
    contact = checked_contact(draft.contact, draft.publisher, phone_region)
    description = parse_description(draft.description)
    record, lookup_down = None, not resolve_uuid
    try:
        if resolve_uuid:
            record = await micro_services.load(draft.slug)
    except LookupUnavailableError as exc:
        # The lookup is down but the insert may well work: take the job slug-only rather than
        # turn the customer away; the UUID backfill fills it in once lookups recover. A
        # microUuid the client sent cannot be checked now, so it is not stored either.
        log.warning("lookup unavailable (%s); storing job slug-only", exc.cause_kind)
        record, lookup_down = None, True
    if (
        draft.micro_uuid is not None
        and not lookup_down
        and (record is None or record.id != draft.micro_uuid)
    ):
        raise BadUserInputError(
            f"microUuid does not match micro service '{draft.slug}'.",
            fields={"microUuid": f"This is not the UUID of '{draft.slug}'."},
        )
    # No catalogue row yet (the file is ahead of the database): store the job slug-only, as old
    # jobs are; the UUID backfill fills it in once the row exists.
    micro_uuid = record.id if record is not None else None
    try:
        async with connection_within(pool, statement_timeout, "job's insert") as conn:
            return await store_job(
                conn,
                NewJob(
                    slug=draft.slug,
                    micro_uuid=micro_uuid,
                    answers=answers,
                    publisher=draft.publisher,
                    customer_ref_hash=draft.customer_ref_hash,
                    location=location,
                    photo_ids=photo_ids,
                    contact=contact,
                    description=description,
                ),
                idempotency_key=draft.idempotency_key,
            )
    except Exception as exc:
        if is_transient(exc):
            log.warning("job insert failed, nothing stored: %r", exc)
            raise ServiceUnavailableError(
                "The job could not be stored right now; retry with the same idempotency key."
            ) from exc
        raise
