"""The Mutation root: its inputs read into plain arguments for the resolvers."""

from __future__ import annotations

from datetime import datetime

import strawberry

from context import Info
from domain.jobs import JobStatus
from resolvers import job_life, jobs, monitoring, personal_data
from resolvers.job_life import JobEdit
from schema import webhooks
from schema.inputs import CancelJobInput, CloseJobInput, PublishJobInput, UpdateJobInput
from schema.monitoring import AlertAcknowledgement, AlertSilence
from schema.types import JobPayload, PublishJobPayload
from schema.webhooks import WebhookDelivery, WebhookEndpoint, WebhookEndpointWithSecret


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
        contact=input.contact.draft() if input.contact is not None else None,
        description=input.description,
    )
    return PublishJobPayload(job=record)


async def _update_job(info: Info, input: UpdateJobInput) -> JobPayload:
    location = input.location
    edit = JobEdit(
        id=input.id,
        expected_version=input.expected_version,
        answers=input.answers,
        description=input.description,
        postcode=location.postcode if location is not None else None,
        address_line=location.address_line if location is not None else None,
        photo_ids=input.photo_ids,
        contact=input.contact.draft() if input.contact is not None else None,
    )
    return JobPayload(job=await job_life.update_job(info.context, edit))


async def _cancel_job(info: Info, input: CancelJobInput) -> JobPayload:
    record = await job_life.end_job(
        info.context, job_id=input.id, status=JobStatus.CANCELLED, reason=input.reason
    )
    return JobPayload(job=record)


async def _close_job(info: Info, input: CloseJobInput) -> JobPayload:
    record = await job_life.end_job(
        info.context, job_id=input.id, status=JobStatus.CLOSED, outcome=input.outcome
    )
    return JobPayload(job=record)


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
        "the job with its location, photos, contact and description. Rejections carry "
        "extensions.code BAD_USER_INPUT and extensions.fields (`location`, `photoIds`, "
        "`contact.email`, `description` or a question id); nothing is stored then. Needs a "
        "signed-in customer (who must give contact details) or an API key with jobs:write; "
        "with an idempotencyKey (or Idempotency-Key header) a retry returns the same job.",
    )
    update_job: JobPayload = strawberry.mutation(
        resolver=_update_job,
        description="Change a PUBLISHED job's answers, description, location, photos or "
        "contact, validated as publishJob validates them; every change makes a new version. "
        "Only the job's customer or the key that published it (NOT_FOUND for anyone else); "
        "NOT_EDITABLE once the job has left PUBLISHED; CONFLICT when expectedVersion is stale.",
    )
    cancel_job: JobPayload = strawberry.mutation(
        resolver=_cancel_job,
        description="Cancel a PUBLISHED job (its owner only; NOT_EDITABLE once it has left "
        "PUBLISHED).",
    )
    close_job: JobPayload = strawberry.mutation(
        resolver=_close_job,
        description="Close a PUBLISHED job with its outcome (its owner only).",
    )
    erase_my_data: bool = strawberry.mutation(
        resolver=personal_data.erase_my_data,
        description="A signed-in customer's right to erasure: their jobs' contact details, "
        "address lines, descriptions and photos are erased, their open jobs cancelled; what "
        "is left is anonymous. True, also when there was nothing left to erase.",
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
    create_webhook_endpoint: WebhookEndpointWithSecret = strawberry.mutation(
        resolver=webhooks.create_webhook_endpoint,
        description="Create a webhook endpoint for the calling key (webhooks:write); the "
        "secret is shown here once. A filter needs leads:read.",
    )
    update_webhook_endpoint: WebhookEndpoint = strawberry.mutation(
        resolver=webhooks.update_webhook_endpoint,
        description="Replace an endpoint's settings; enabling it again clears failingSince.",
    )
    delete_webhook_endpoint: bool = strawberry.mutation(
        resolver=webhooks.delete_webhook_endpoint,
        description="Delete an endpoint with its pending deliveries.",
    )
    rotate_webhook_secret: WebhookEndpointWithSecret = strawberry.mutation(
        resolver=webhooks.rotate_webhook_secret,
        description="A new signing secret, shown once; the old one keeps signing beside it for "
        "WEBHOOK_SECRET_OVERLAP_HOURS.",
    )
    send_test_webhook: WebhookDelivery = strawberry.mutation(
        resolver=webhooks.send_test_webhook,
        description="Queue a webhook.test event to this endpoint.",
    )
    redeliver_webhook: WebhookDelivery = strawberry.mutation(
        resolver=webhooks.redeliver_webhook,
        description="Send a delivery again from now, with the whole retry schedule ahead "
        "(same webhook-id).",
    )
