"""Job fields: read one job, publish one, a job's micro service."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from context import Info
from db.records import JobRecord, MicroServiceRecord
from domain.api_keys import JOBS_WRITE, may_read_job
from domain.errors import ForbiddenError
from domain.idempotency import choose_key
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
    info: Info,
    *,
    slug: str,
    micro_uuid: UUID | None,
    answers: Any,
    idempotency_key: str | None,
    customer_ref: str | None = None,
) -> JobRecord:
    caller = await info.context.auth.require(JOBS_WRITE)
    ref_hash = (
        None
        if customer_ref is None
        else customer_ref_hash(caller.id, check_customer_ref(customer_ref))
    )
    key = choose_key(idempotency_key, info.context.request.headers.get(IDEMPOTENCY_HEADER))
    app = info.context.app
    return await publish(
        pool=app.pool,
        catalogue=app.catalogue,
        micro_services=info.context.loaders.micro_services,
        draft=JobDraft(
            slug=slug,
            micro_uuid=micro_uuid,
            answers=answers,
            api_key_id=caller.id,
            idempotency_key=key,
            customer_ref_hash=ref_hash,
        ),
        resolve_uuid=app.settings.job_uuids,
    )


async def micro_service_of(root: JobRecord, info: Info) -> MicroServiceRecord | None:
    return await info.context.loaders.micro_services.load(root.slug)
