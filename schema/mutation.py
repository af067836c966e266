"""The Mutation root."""

from __future__ import annotations

import strawberry

from resolvers import jobs
from schema.types import PublishJobPayload


@strawberry.type
class Mutation:
    publish_job: PublishJobPayload = strawberry.field(
        resolver=jobs.publish_job,
        description="Validate the answers against the micro service's questions and publish "
        "the job. Rejections carry extensions.code BAD_USER_INPUT and extensions.fields. Needs an "
        "API key with jobs:write; with an idempotencyKey (or Idempotency-Key header) a retry "
        "returns the same job.",
    )
