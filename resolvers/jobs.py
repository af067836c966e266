"""Job fields: read one job, publish one."""

from __future__ import annotations

from uuid import UUID

from api.context import Info
from domain.publishing import JobDraft
from domain.publishing import publish_job as publish
from schema.inputs import PublishJobInput
from schema.types import Job, PublishJobPayload


async def job(info: Info, id: UUID) -> Job | None:
    record = await info.context.loaders.jobs.load(id)
    return None if record is None else Job.from_record(record)


async def publish_job(info: Info, input: PublishJobInput) -> PublishJobPayload:
    services = info.context.services
    record = await publish(
        pool=services.pool,
        catalogue=services.catalogue,
        micro_services=info.context.loaders.micro_services,
        draft=JobDraft(micro_id=input.micro_id, micro_uuid=input.micro_uuid, answers=input.answers),
    )
    return PublishJobPayload(job=Job.from_record(record))
