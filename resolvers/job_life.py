"""A job's life after publishJob: updateJob, cancelJob, closeJob.

Each reads the job, checks who acts and what it may become (validated as publishJob validates),
then writes it in one statement guarded by the version it read. A job changed in between is
read again: with `expectedVersion` that is a CONFLICT, without it the change is tried again on
the new version, a bounded number of times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from context import Context
from context.auth import RequestAuth
from db.jobs import JobContent, end_published_job, fetch_job, update_published_job
from db.records import JobRecord
from db.uploads import fetch_photos_by_job_ids
from domain.answers import validate_answers
from domain.api_keys import JOBS_WRITE
from domain.contact import ContactDraft, parse_description
from domain.customers import Customer
from domain.errors import (
    BadUserInputError,
    ConflictError,
    NotEditableError,
    ServiceUnavailableError,
)
from domain.jobs import (
    JobOutcome,
    JobStatus,
    Principal,
    check_cancel_reason,
    job_not_found,
    owns,
)
from domain.location import parse_location
from domain.uploads import parse_photo_ids
from monitoring import metrics
from resolvers.connections import request_connection

# Attempts at a change without `expectedVersion` while others keep changing the job.
_ATTEMPTS = 3


async def acting_principal(auth: RequestAuth) -> Principal:
    """Who publishes or changes jobs: a signed-in customer, or a key with jobs:write."""
    principal = await auth.principal()
    if isinstance(principal, Customer):
        return principal
    return await auth.require(JOBS_WRITE)


@dataclass(frozen=True, slots=True)
class JobEdit:
    """updateJob's input as the client sent it: None leaves a part as it is."""

    id: UUID
    expected_version: int | None = None
    answers: Any = None
    description: str | None = field(default=None, repr=False)
    postcode: str | None = None
    address_line: str | None = field(default=None, repr=False)
    photo_ids: Sequence[str] | None = None
    contact: ContactDraft | None = field(default=None, repr=False)


async def _owned_published(
    context: Context, principal: Principal, job_id: UUID, expected: int | None
) -> JobRecord:
    """The job, when `principal` owns it, it is PUBLISHED, and at `expected` (if given)."""
    async with request_connection(context, "job read") as conn:
        job = await fetch_job(conn, job_id=job_id)
    if job is None or not owns(principal, job.owner):
        raise job_not_found()
    if job.status != JobStatus.PUBLISHED.value:
        raise NotEditableError(f"The job is {job.status}: it can no longer be changed.")
    if expected is not None and expected != job.version:
        raise ConflictError(
            f"The job is at version {job.version}, not {expected}: read it again.",
            current_version=job.version,
        )
    return job


def _content(context: Context, job: JobRecord, edit: JobEdit) -> tuple[JobContent, list[str]]:
    """The job as the edit makes it, checked as publishJob checks a job, and the names of the
    parts that change."""
    app = context.app
    answers = job.answers
    if edit.answers is not None:
        spec = app.catalogue.micro_service(job.slug)
        if spec is None:
            message = "This job's micro service is no longer in the catalogue."
            raise BadUserInputError(message, fields={"answers": message})
        answers = validate_answers(spec, edit.answers)
    description = job.description
    if edit.description is not None:
        description = parse_description(edit.description)
    location = None
    if edit.postcode is not None:
        location = parse_location(edit.postcode, edit.address_line)
    contact = job.contact
    if edit.contact is not None:
        contact = edit.contact.checked(app.settings.phone_default_region)
    changed = []
    if answers != job.answers:
        changed.append("answers")
    if description != job.description:
        changed.append("description")
    if location is not None and (
        location.postcode.postcode != job.postcode or location.address_line != job.address_line
    ):
        changed.append("location")
    if contact != job.contact:
        changed.append("contact")
    if location is None and job.postcode is not None:
        # The location stays: the update writes back what is stored.
        location = parse_location(job.postcode, job.address_line)
    return JobContent(answers, description, location, contact), changed


async def update_job(context: Context, edit: JobEdit) -> JobRecord:
    principal = await acting_principal(context.auth)
    photo_ids = None if edit.photo_ids is None else parse_photo_ids(edit.photo_ids)
    for _ in range(_ATTEMPTS):
        job = await _owned_published(context, principal, edit.id, edit.expected_version)
        content, changed = _content(context, job, edit)
        if photo_ids is not None:
            async with request_connection(context, "photo read") as conn:
                current = await fetch_photos_by_job_ids(conn, job_ids=[job.id])
            if [p.id for p in current.get(job.id, [])] != photo_ids:
                changed.append("photos")
            else:
                photo_ids = None
        if not changed:
            return job  # nothing to change: no new version
        async with request_connection(context, "job update") as conn:
            updated = await update_published_job(
                conn,
                job=job,
                content=content,
                changed=changed,
                actor=principal,
                photo_ids=photo_ids,
            )
        if updated is not None:
            return updated
    raise ServiceUnavailableError("The job keeps changing; read it again and retry.")


async def end_job(
    context: Context,
    *,
    job_id: UUID,
    status: JobStatus,
    reason: str | None = None,
    outcome: JobOutcome | None = None,
) -> JobRecord:
    """cancelJob and closeJob: the owner moves its PUBLISHED job to `status`."""
    principal = await acting_principal(context.auth)
    checked_reason = check_cancel_reason(reason)
    for _ in range(_ATTEMPTS):
        job = await _owned_published(context, principal, job_id, None)
        async with request_connection(context, "job change") as conn:
            ended = await end_published_job(
                conn,
                job=job,
                status=status.value,
                actor=principal,
                reason=checked_reason,
                outcome=outcome.value if outcome is not None else None,
            )
        if ended is not None:
            metrics.JOBS_ENDED.labels(status=status.value.lower()).inc()
            return ended
    raise ServiceUnavailableError("The job keeps changing; read it again and retry.")
