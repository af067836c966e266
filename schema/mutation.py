"""The Mutation root: its inputs read into plain arguments for the resolvers."""

from __future__ import annotations

from datetime import datetime

import strawberry

from context import Info
from resolvers import jobs, monitoring
from schema.inputs import PublishJobInput
from schema.monitoring import AlertAcknowledgement, AlertSilence
from schema.types import PublishJobPayload


async def _publish_job(info: Info, input: PublishJobInput) -> PublishJobPayload:
    record = await jobs.publish_job(
        info.context,
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


async def _acknowledge_alert(info: Info, name: str, note: str = "") -> AlertAcknowledgement:
    done = await monitoring.acknowledge_alert(info, name, note)
    return AlertAcknowledgement(name=done.name, note=done.note, covers_firing=done.covers_firing)


async def _silence_alert(info: Info, name: str, until: datetime, note: str = "") -> AlertSilence:
    done = await monitoring.silence_alert(info, name, until, note)
    return AlertSilence(name=done.name, until=done.until, note=done.note)


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
    acknowledge_alert: AlertAcknowledgement = strawberry.mutation(
        resolver=_acknowledge_alert,
        description="Acknowledge the current firing of an alert (`note` up to 1000 characters). "
        "Needs an API key with ops:write.",
    )
    silence_alert: AlertSilence = strawberry.mutation(
        resolver=_silence_alert,
        description="Silence an alert until `until` (at most 30 days ahead): it still shows, "
        "marked, but is not pushed to `alertsChanged`. Needs an API key with ops:write.",
    )
