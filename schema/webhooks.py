"""Webhook types and inputs, and the root fields that manage them (registered in
schema/query.py and schema/mutation.py)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from context import Info
from db.webhooks import CreatedEndpoint, DeliveryRecord, EndpointRecord
from domain.webhooks import LeadFilter as LeadFilterValue
from resolvers import webhooks
from resolvers.webhooks import EndpointDraft
from schema.types import PageInfo


@strawberry.enum(description="Where a delivery stands.")
class DeliveryStatus(Enum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


@strawberry.input(
    description="Which other keys' jobs a `leads:read` endpoint hears about: each list given "
    "narrows (a job matches when it matches every list given); an empty filter matches all."
)
class LeadFilterInput:
    categories: list[str] | None = strawberry.field(default=None, description="Category slugs.")
    micro_services: list[str] | None = strawberry.field(
        default=None, description="Micro service slugs."
    )
    postcode_areas: list[str] | None = strawberry.field(
        default=None, description='Postcode areas, the letters of a postcode\'s start ("SW").'
    )


@strawberry.input
class WebhookEndpointInput:
    url: str = strawberry.field(
        description="An https:// URL to a public address, at most 2048 characters."
    )
    events: list[str] = strawberry.field(
        description="The event types it hears: job.published, job.updated, job.cancelled, "
        "job.closed, job.expired, webhook.test."
    )
    filter: LeadFilterInput | None = strawberry.field(
        default=None,
        description="Needs leads:read: also hear of other keys' jobs that match it.",
    )
    description: str | None = strawberry.field(default=None, description="Up to 500 characters.")
    enabled: bool = True

    def draft(self) -> EndpointDraft:
        f = self.filter
        return EndpointDraft(
            url=self.url,
            events=self.events,
            description=self.description,
            enabled=self.enabled,
            has_filter=f is not None,
            categories=f.categories if f is not None else None,
            micro_services=f.micro_services if f is not None else None,
            postcode_areas=f.postcode_areas if f is not None else None,
        )


@strawberry.type
class LeadFilter:
    categories: list[str] | None
    micro_services: list[str] | None
    postcode_areas: list[str] | None

    @classmethod
    def of(cls, value: LeadFilterValue) -> LeadFilter:
        def listed(values: tuple[str, ...] | None) -> list[str] | None:
            return None if values is None else list(values)

        return cls(
            categories=listed(value.categories),
            micro_services=listed(value.micro_services),
            postcode_areas=listed(value.postcode_areas),
        )


@strawberry.type(description="Where a key's webhooks are posted.")
class WebhookEndpoint:
    id: strawberry.ID
    url: str
    events: list[str]
    enabled: bool
    created_at: datetime
    failing_since: datetime | None = strawberry.field(
        description="Since when its deliveries have failed without a success; null when well."
    )
    description: str | None
    filter: LeadFilter | None

    @classmethod
    def of(cls, record: EndpointRecord) -> WebhookEndpoint:
        return cls(
            id=strawberry.ID(str(record.id)),
            url=record.url,
            events=list(record.events),
            enabled=record.enabled,
            created_at=record.created_at,
            failing_since=record.failing_since,
            description=record.description,
            filter=LeadFilter.of(record.filter) if record.filter is not None else None,
        )


@strawberry.type
class WebhookEndpointWithSecret:
    endpoint: WebhookEndpoint
    secret: str = strawberry.field(
        description="The signing secret (whsec_...): shown here once, never again."
    )

    @classmethod
    def of(cls, created: CreatedEndpoint) -> WebhookEndpointWithSecret:
        return cls(endpoint=WebhookEndpoint.of(created.endpoint), secret=created.secret)


@strawberry.type(description="One event to one endpoint.")
class WebhookDelivery:
    id: strawberry.ID
    event_id: strawberry.ID = strawberry.field(description="Sent as `webhook-id`.")
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    next_attempt_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, record: DeliveryRecord) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(str(record.id)),
            event_id=strawberry.ID(str(record.event_id)),
            event_type=record.event_type,
            status=DeliveryStatus(record.status),
            attempts=record.attempts,
            last_status_code=record.last_status_code,
            next_attempt_at=record.next_attempt_at,
            created_at=record.created_at,
        )


@strawberry.type
class WebhookDeliveryEdge:
    cursor: str
    node: WebhookDelivery


@strawberry.type(description="An endpoint's deliveries, newest first.")
class WebhookDeliveryConnection:
    edges: list[WebhookDeliveryEdge]
    page_info: PageInfo
    total_count: int


async def webhook_endpoints(info: Info) -> list[WebhookEndpoint]:
    return [WebhookEndpoint.of(r) for r in await webhooks.endpoints(info.context)]


async def webhook_deliveries(
    info: Info,
    endpoint_id: strawberry.ID,
    first: int = 20,
    after: str | None = None,
    status: DeliveryStatus | None = None,
) -> WebhookDeliveryConnection:
    page = await webhooks.deliveries(
        info.context, endpoint_id, first, after, status.value if status is not None else None
    )
    return WebhookDeliveryConnection(
        edges=[
            WebhookDeliveryEdge(cursor=e.cursor, node=WebhookDelivery.of(e.node))
            for e in page.edges
        ],
        page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        total_count=page.total_count,
    )


async def create_webhook_endpoint(
    info: Info, input: WebhookEndpointInput
) -> WebhookEndpointWithSecret:
    return WebhookEndpointWithSecret.of(await webhooks.create_endpoint(info.context, input.draft()))


async def update_webhook_endpoint(
    info: Info, id: strawberry.ID, input: WebhookEndpointInput
) -> WebhookEndpoint:
    return WebhookEndpoint.of(await webhooks.update(info.context, id, input.draft()))


async def delete_webhook_endpoint(info: Info, id: strawberry.ID) -> bool:
    return await webhooks.delete(info.context, id)


async def rotate_webhook_secret(info: Info, id: strawberry.ID) -> WebhookEndpointWithSecret:
    return WebhookEndpointWithSecret.of(await webhooks.rotate(info.context, id))


async def send_test_webhook(info: Info, id: strawberry.ID) -> WebhookDelivery:
    return WebhookDelivery.of(await webhooks.send_test(info.context, id))


async def redeliver_webhook(info: Info, delivery_id: strawberry.ID) -> WebhookDelivery:
    return WebhookDelivery.of(await webhooks.redeliver_delivery(info.context, delivery_id))
