"""Job fields: read one job, publish one, a job's micro service, location, contact, photos."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from context import Context, Info
from db.jobs import list_jobs
from db.records import JobRecord, MicroServiceRecord
from domain.api_keys import ApiKey
from domain.contact import Contact, ContactDraft
from domain.customers import Customer
from domain.errors import BadUserInputError
from domain.idempotency import choose_key
from domain.jobs import (
    DEFAULT_PAGE,
    Cursor,
    JobStatus,
    check_page_size,
    may_read,
    owns,
    require_principal,
)
from domain.media_urls import Variant, sign
from domain.suggestions import check_customer_ref, customer_identity_hash, customer_ref_hash
from resolvers.connections import request_connection
from resolvers.job_life import acting_principal
from resolvers.publish import JobDraft
from resolvers.publish import publish_job as publish

IDEMPOTENCY_HEADER = "Idempotency-Key"


async def job(info: Info, id: UUID) -> JobRecord | None:
    """The job, to its owner or a key with jobs:read; null to anyone else, as for an id that
    does not exist (no oracle of which ids do)."""
    auth = info.context.auth
    principal = require_principal(await auth.principal(), presented=auth.presented)
    record = await info.context.loaders.jobs.load(id)
    if record is None or not may_read(principal, record.owner):
        return None
    return record


async def publish_job(
    context: Context,
    *,
    slug: str,
    micro_uuid: UUID | None,
    answers: Any,
    idempotency_key: str | None,
    customer_ref: str | None = None,
    postcode: str,
    address_line: str | None,
    photo_ids: Sequence[str] | None,
    contact: ContactDraft | None = None,
    description: str | None = None,
) -> JobRecord:
    """Publish one job for the calling customer or key. Takes the context rather than `info`,
    so that it runs apart from graphql-core too."""
    publisher = await acting_principal(context.auth)
    ref_hash = None
    if customer_ref is not None and isinstance(publisher, ApiKey):
        ref_hash = customer_ref_hash(publisher.id, check_customer_ref(customer_ref))
    elif isinstance(publisher, Customer):
        # A customer is their own reference: relatedServices learns from their jobs too.
        ref_hash = customer_identity_hash(publisher)
    key = choose_key(idempotency_key, context.request.headers.get(IDEMPOTENCY_HEADER))
    app = context.app
    try:
        record = await publish(
            pool=app.pool,
            catalogue=app.catalogue,
            micro_services=context.loaders.micro_services,
            draft=JobDraft(
                slug=slug,
                micro_uuid=micro_uuid,
                answers=answers,
                publisher=publisher,
                idempotency_key=key,
                customer_ref_hash=ref_hash,
                postcode=postcode,
                address_line=address_line,
                photo_ids=photo_ids,
                contact=contact,
                description=description,
            ),
            resolve_uuid=app.settings.job_uuids,
            statement_timeout=app.settings.db_statement_timeout_ms / 1000,
            phone_region=app.settings.phone_default_region,
        )
    except BadUserInputError as exc:
        spec = app.catalogue.micro_service(slug)
        questions = [question.id for question in spec.questions] if spec is not None else []
        app.business.publish_rejected(exc.fields, questions)
        raise
    app.business.published()
    return record


async def micro_service_of(root: JobRecord, info: Info) -> MicroServiceRecord | None:
    return await info.context.loaders.micro_services.load(root.slug)


@dataclass(frozen=True, slots=True)
class JobLocation:
    postcode: str
    district: str
    area: str
    address_line: str | None


@dataclass(frozen=True, slots=True)
class JobPhoto:
    id: UUID
    url: str
    thumbnail_url: str
    width: int
    height: int


async def _owns(root: JobRecord, info: Info) -> bool:
    return owns(await info.context.auth.principal(), root.owner)


async def location_of(root: JobRecord, info: Info) -> JobLocation | None:
    """The job's location; None for jobs from before locations. The address line is personal
    data: only the job's owner sees it, whoever else sees the job."""
    if root.postcode is None or root.postcode_district is None or root.postcode_area is None:
        return None
    return JobLocation(
        postcode=root.postcode,
        district=root.postcode_district,
        area=root.postcode_area,
        address_line=root.address_line if await _owns(root, info) else None,
    )


async def contact_of(root: JobRecord, info: Info) -> Contact | None:
    """The job's contact details, to its owner only."""
    return root.contact if await _owns(root, info) else None


async def photos_of(root: JobRecord, info: Info) -> list[JobPhoto]:
    """The job's photos in order, with signed URLs a browser can show without an API key.
    Photos are personal data (a home's inside, often a face): only the job's owner sees them;
    anyone else who may read the job gets an empty list."""
    if not await _owns(root, info):
        return []
    uploads = await info.context.loaders.job_photos.load(root.id)
    app = info.context.app
    if not uploads or app.media_url_secret is None:
        return []
    now = time.time()
    ttl = app.settings.media_url_ttl
    secret = await app.media_url_secret.get()
    return [
        JobPhoto(
            id=upload.id,
            url=str(sign(secret, upload.id, Variant.IMAGE, now=now, ttl=ttl)),
            thumbnail_url=str(sign(secret, upload.id, Variant.THUMB, now=now, ttl=ttl)),
            width=upload.width,
            height=upload.height,
        )
        for upload in uploads
    ]


@dataclass(frozen=True, slots=True)
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@dataclass(frozen=True, slots=True)
class JobEdge:
    cursor: str
    node: JobRecord


@dataclass(frozen=True, slots=True)
class JobConnection:
    edges: list[JobEdge]
    page_info: PageInfo
    total_count: int


async def my_jobs(
    info: Info,
    first: int | None = DEFAULT_PAGE,
    after: str | None = None,
    status: list[JobStatus] | None = None,
) -> JobConnection:
    """The caller's jobs, newest first: a customer's own, or those the key published. One
    statement per page; their photos come through the batched photo loader."""
    auth = info.context.auth
    owner = require_principal(await auth.principal(), presented=auth.presented)
    size = check_page_size(DEFAULT_PAGE if first is None else first)
    cursor = Cursor.decode(after)
    unavailable = "Jobs cannot be listed right now; retry."
    async with request_connection(info.context, "job listing", unavailable=unavailable) as conn:
        page = await list_jobs(
            conn,
            owner=owner,
            first=size,
            after=cursor,
            statuses=None if status is None else [s.value for s in status],
        )
    loader = info.context.loaders.jobs
    edges = []
    for record in page.jobs:
        loader.prime(record.id, record)  # a job(id:) in the same request costs no query
        edges.append(JobEdge(Cursor(record.created_at, record.id).encode(), record))
    return JobConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
        ),
        total_count=page.total,
    )
