"""Job fields: read one job, publish one, a job's micro service."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from context import Context, Info
from db.records import JobRecord, MicroServiceRecord
from domain.api_keys import JOBS_WRITE, may_read_job
from domain.errors import ForbiddenError
from domain.idempotency import choose_key
from domain.media_urls import Variant, sign
from domain.suggestions import check_customer_ref, customer_ref_hash
from resolvers.publish import JobDraft
from resolvers.publish import publish_job as publish

IDEMPOTENCY_HEADER = "Idempotency-Key"


async def job(info: Info, id: UUID) -> JobRecord | None:
    caller = await info.context.auth.require_key()
    record = await info.context.loaders.jobs.load(id)
    if record is None:
        return None
    if not may_read_job(caller, record.api_key_id):
        raise ForbiddenError(
            "This API key may read only the jobs it published (or needs jobs:read)."
        )
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
) -> JobRecord:
    """Publish one job for the calling key. Takes the context rather than `info`, so that it
    runs apart from graphql-core too."""
    caller = await context.auth.require(JOBS_WRITE)
    ref_hash = (
        None
        if customer_ref is None
        else customer_ref_hash(caller.id, check_customer_ref(customer_ref))
    )
    key = choose_key(idempotency_key, context.request.headers.get(IDEMPOTENCY_HEADER))
    app = context.app
    return await publish(
        pool=app.pool,
        catalogue=app.catalogue,
        micro_services=context.loaders.micro_services,
        draft=JobDraft(
            slug=slug,
            micro_uuid=micro_uuid,
            answers=answers,
            api_key_id=caller.id,
            idempotency_key=key,
            customer_ref_hash=ref_hash,
            postcode=postcode,
            address_line=address_line,
            photo_ids=photo_ids,
        ),
        resolve_uuid=app.settings.job_uuids,
        statement_timeout=app.settings.db_statement_timeout_ms / 1000,
    )


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


async def location_of(root: JobRecord, info: Info) -> JobLocation | None:
    """The job's location; None for jobs from before locations. The address line is personal
    data: only the publishing key or one with jobs:read sees it, whoever else sees the job."""
    if root.postcode is None or root.postcode_district is None or root.postcode_area is None:
        return None
    caller = await info.context.auth.caller()
    full = caller is not None and may_read_job(caller, root.api_key_id)
    return JobLocation(
        postcode=root.postcode,
        district=root.postcode_district,
        area=root.postcode_area,
        address_line=root.address_line if full else None,
    )


async def photos_of(root: JobRecord, info: Info) -> list[JobPhoto]:
    """The job's photos in order, with signed URLs a browser can show without an API key."""
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
