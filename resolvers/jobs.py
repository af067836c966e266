"""Job fields: read one job, publish one."""

from __future__ import annotations

from uuid import UUID

from api.context import Info
from domain.api_keys import JOBS_WRITE, may_read_job
from domain.errors import ForbiddenError
from domain.idempotency import choose_key
from domain.publishing import JobDraft
from domain.publishing import publish_job as publish
from schema.inputs import PublishJobInput
from schema.types import Job, PublishJobPayload

IDEMPOTENCY_HEADER = "Idempotency-Key"


async def job(info: Info, id: UUID) -> Job | None:
    caller = await info.context.auth.require_key()
    record = await info.context.loaders.jobs.load(id)
    if record is None:
        return None
    if not may_read_job(caller, record.api_key_id):
        raise ForbiddenError(
            "This API key may read only the jobs it published (or needs jobs:read)."
        )
    return Job.from_record(record)


async def publish_job(info: Info, input: PublishJobInput) -> PublishJobPayload:
    caller = await info.context.auth.require(JOBS_WRITE)
    key = choose_key(input.idempotency_key, info.context.request.headers.get(IDEMPOTENCY_HEADER))
    services = info.context.services
    record = await publish(
        pool=services.pool,
        catalogue=services.catalogue,
        micro_services=info.context.loaders.micro_services,
        draft=JobDraft(
            micro_id=input.micro_id,
            micro_uuid=input.micro_uuid,
            answers=input.answers,
            api_key_id=caller.id,
            idempotency_key=key,
        ),
        resolve_uuid=services.settings.job_uuids,
    )
    return PublishJobPayload(job=Job.from_record(record))
