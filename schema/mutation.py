"""The Mutation root: its inputs read into plain arguments for the resolvers."""

from __future__ import annotations

import strawberry

from context import Info
from resolvers import jobs
from schema.inputs import PublishJobInput
from schema.types import PublishJobPayload


async def _publish_job(info: Info, input: PublishJobInput) -> PublishJobPayload:
    record = await jobs.publish_job(
        info,
        slug=input.micro_id,
        micro_uuid=input.micro_uuid,
        answers=input.answers,
        idempotency_key=input.idempotency_key,
        customer_ref=input.customer_ref,
        postcode=input.location.postcode,
        address_line=input.location.address_line,
        photo_ids=input.photo_ids,
    )
    return PublishJobPayload(job=record)


@strawberry.type
class Mutation:
    publish_job: PublishJobPayload = strawberry.mutation(
        resolver=_publish_job,
        description="Validate the answers against the micro service's questions and publish "
        "the job with its location and photos. Rejections carry extensions.code BAD_USER_INPUT and "
        "extensions.fields (`location`, `photoIds` or a question id); nothing is stored then. "
        "Needs an "
        "API key with jobs:write; with an idempotencyKey (or Idempotency-Key header) a retry "
        "returns the same job.",
    )
