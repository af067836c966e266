"""Webhook endpoints managed by their key: create, list, update, delete, rotate the secret, send
a test event, list and redeliver deliveries.

Every operation needs a key with `webhooks:write` and sees only that key's endpoints: another
key's endpoint is NOT_FOUND, as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from context import Context
from db.webhooks import (
    CreatedEndpoint,
    DeliveryRecord,
    EndpointRecord,
    delete_endpoint,
    fetch_endpoint,
    insert_endpoint,
    insert_test_delivery,
    list_deliveries,
    list_endpoints,
    redeliver,
    rotate_secret,
    update_endpoint,
)
from domain.api_keys import LEADS_READ, WEBHOOKS_WRITE, ApiKey
from domain.errors import BadUserInputError, ForbiddenError, NotFoundError
from domain.jobs import Cursor, check_page_size
from domain.webhooks import (
    EndpointSpec,
    check_description,
    check_events,
    check_filter,
    check_url,
    generate_secret,
)
from resolvers.connections import request_connection

NO_ENDPOINT = "No webhook endpoint has this id."
NO_DELIVERY = "No webhook delivery has this id."
# Where a listing starts without a cursor: after every delivery there is.
_BEFORE_ALL = Cursor(datetime(9999, 12, 31, tzinfo=UTC), UUID(int=(1 << 128) - 1))


@dataclass(frozen=True, slots=True)
class EndpointDraft:
    """WebhookEndpointInput as the client sent it."""

    url: str
    events: Sequence[str]
    description: str | None = None
    enabled: bool = True
    has_filter: bool = False
    categories: Sequence[str] | None = None
    micro_services: Sequence[str] | None = None
    postcode_areas: Sequence[str] | None = None


@dataclass(frozen=True, slots=True)
class DeliveryEdge:
    cursor: str
    node: DeliveryRecord


@dataclass(frozen=True, slots=True)
class DeliveryConnection:
    edges: list[DeliveryEdge]
    has_next_page: bool
    end_cursor: str | None
    total_count: int


def _uuid(text: str, message: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise NotFoundError(message) from None


def _spec(context: Context, key: ApiKey, draft: EndpointDraft) -> EndpointSpec:
    settings = context.app.settings
    if draft.has_filter and not key.has(LEADS_READ):
        raise ForbiddenError(f"A lead filter needs the scope '{LEADS_READ}'.")
    return EndpointSpec(
        url=check_url(draft.url, allow_insecure=settings.webhook_allow_insecure_urls),
        events=check_events(draft.events),
        filter=check_filter(draft.categories, draft.micro_services, draft.postcode_areas)
        if draft.has_filter
        else None,
        description=check_description(draft.description),
        enabled=draft.enabled,
    )


async def create_endpoint(context: Context, draft: EndpointDraft) -> CreatedEndpoint:
    key = await context.auth.require(WEBHOOKS_WRITE)
    spec = _spec(context, key, draft)
    secret = generate_secret()
    limit = context.app.settings.webhook_max_endpoints_per_key
    async with request_connection(context, "webhook endpoint creation") as conn:
        created = await insert_endpoint(
            conn, api_key_id=key.id, spec=spec, secret=secret, max_count=limit
        )
    if created is None:
        raise BadUserInputError(f"This key already has {limit} webhook endpoints.")
    return CreatedEndpoint(endpoint=created, secret=secret)


async def update(context: Context, endpoint_id: str, draft: EndpointDraft) -> EndpointRecord:
    key = await context.auth.require(WEBHOOKS_WRITE)
    spec = _spec(context, key, draft)
    async with request_connection(context, "webhook endpoint update") as conn:
        updated = await update_endpoint(
            conn, endpoint_id=_uuid(endpoint_id, NO_ENDPOINT), api_key_id=key.id, spec=spec
        )
    if updated is None:
        raise NotFoundError(NO_ENDPOINT)
    return updated


async def delete(context: Context, endpoint_id: str) -> bool:
    key = await context.auth.require(WEBHOOKS_WRITE)
    async with request_connection(context, "webhook endpoint deletion") as conn:
        deleted = await delete_endpoint(
            conn, endpoint_id=_uuid(endpoint_id, NO_ENDPOINT), api_key_id=key.id
        )
    if not deleted:
        raise NotFoundError(NO_ENDPOINT)
    return True


async def rotate(context: Context, endpoint_id: str) -> CreatedEndpoint:
    key = await context.auth.require(WEBHOOKS_WRITE)
    secret = generate_secret()
    overlap = context.app.settings.webhook_secret_overlap_hours * 3600
    async with request_connection(context, "webhook secret rotation") as conn:
        rotated = await rotate_secret(
            conn,
            endpoint_id=_uuid(endpoint_id, NO_ENDPOINT),
            api_key_id=key.id,
            secret=secret,
            overlap_seconds=overlap,
        )
    if rotated is None:
        raise NotFoundError(NO_ENDPOINT)
    return CreatedEndpoint(endpoint=rotated, secret=secret)


async def send_test(context: Context, endpoint_id: str) -> DeliveryRecord:
    key = await context.auth.require(WEBHOOKS_WRITE)
    async with request_connection(context, "webhook test") as conn:
        delivery = await insert_test_delivery(
            conn, endpoint_id=_uuid(endpoint_id, NO_ENDPOINT), api_key_id=key.id
        )
    if delivery is None:
        raise NotFoundError(NO_ENDPOINT)
    return delivery


async def redeliver_delivery(context: Context, delivery_id: str) -> DeliveryRecord:
    key = await context.auth.require(WEBHOOKS_WRITE)
    async with request_connection(context, "webhook redelivery") as conn:
        delivery = await redeliver(
            conn, delivery_id=_uuid(delivery_id, NO_DELIVERY), api_key_id=key.id
        )
    if delivery is None:
        raise NotFoundError(NO_DELIVERY)
    return delivery


async def endpoints(context: Context) -> list[EndpointRecord]:
    key = await context.auth.require(WEBHOOKS_WRITE)
    async with request_connection(context, "webhook endpoint listing") as conn:
        return await list_endpoints(conn, api_key_id=key.id)


async def deliveries(
    context: Context, endpoint_id: str, first: int, after: str | None, status: str | None
) -> DeliveryConnection:
    key = await context.auth.require(WEBHOOKS_WRITE)
    size = check_page_size(first)
    cursor = Cursor.decode(after)
    endpoint = _uuid(endpoint_id, NO_ENDPOINT)
    async with request_connection(context, "webhook delivery listing") as conn:
        if await fetch_endpoint(conn, endpoint_id=endpoint, api_key_id=key.id) is None:
            raise NotFoundError(NO_ENDPOINT)
        start = cursor if cursor is not None else _BEFORE_ALL
        page = await list_deliveries(
            conn,
            endpoint_id=endpoint,
            api_key_id=key.id,
            first=size,
            after=(start.created_at, start.id),
            status=status,
        )
    edges = [DeliveryEdge(Cursor(d.created_at, d.id).encode(), d) for d in page.deliveries]
    return DeliveryConnection(
        edges=edges,
        has_next_page=page.has_next,
        end_cursor=edges[-1].cursor if edges else None,
        total_count=page.total,
    )
