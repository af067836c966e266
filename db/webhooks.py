"""Webhook endpoints and their deliveries as their owner manages them: SQL and repository.

Every statement names the owning API key beside the endpoint's id, so an endpoint of another key
is as absent as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import asyncpg

from db.pool import Connection
from domain.webhooks import TEST_EVENT, EndpointSpec, LeadFilter

Executor = asyncpg.Pool | Connection

_ENDPOINT_COLUMNS = """id, api_key_id, url, events, description, enabled, has_filter,
       filter_categories, filter_micro_services, filter_postcode_areas, created_at,
       failing_since"""
# $1 key, $2 url, $3 events, $4 description, $5 enabled, $6 has filter, $7-$9 the filter.
INSERT_ENDPOINT = f"""
INSERT INTO webhook_endpoints (api_key_id, url, events, description, enabled, has_filter,
                               filter_categories, filter_micro_services, filter_postcode_areas,
                               secret)
SELECT $1, $2, $3::text[], $4, $5, $6, $7::text[], $8::text[], $9::text[], $10
 WHERE (SELECT count(*) FROM webhook_endpoints WHERE api_key_id = $1) < $11
RETURNING {_ENDPOINT_COLUMNS}
"""
# Enabling an endpoint again forgets why it was disabled and how long it had been failing.
UPDATE_ENDPOINT = f"""
UPDATE webhook_endpoints
   SET url = $3, events = $4::text[], description = $5, enabled = $6, has_filter = $7,
       filter_categories = $8::text[], filter_micro_services = $9::text[],
       filter_postcode_areas = $10::text[], updated_at = now(),
       failing_since = CASE WHEN $6 AND NOT enabled THEN NULL ELSE failing_since END,
       disabled_reason = CASE WHEN $6 THEN NULL ELSE disabled_reason END
 WHERE id = $1 AND api_key_id = $2
RETURNING {_ENDPOINT_COLUMNS}
"""
DELETE_ENDPOINT = "DELETE FROM webhook_endpoints WHERE id = $1 AND api_key_id = $2"
SELECT_ENDPOINTS = f"""
SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE api_key_id = $1 ORDER BY created_at, id
"""
SELECT_ENDPOINT = f"""
SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND api_key_id = $2
"""
# The new secret signs from now on; the one it replaces signs beside it for the overlap (a
# rotation during an overlap ends the older secret's at once).
ROTATE_SECRET = f"""
UPDATE webhook_endpoints
   SET previous_secret = secret, secret = $3,
       previous_secret_until = now() + make_interval(secs => $4), updated_at = now()
 WHERE id = $1 AND api_key_id = $2
RETURNING {_ENDPOINT_COLUMNS}
"""
# A test event is for its endpoint alone: written fanned out, with its one delivery.
INSERT_TEST_DELIVERY = f"""
WITH e AS (
    SELECT id FROM webhook_endpoints WHERE id = $1 AND api_key_id = $2
), ev AS (
    INSERT INTO webhook_events (type, endpoint_id, data, fanned_out_at)
    SELECT '{TEST_EVENT}', e.id, $3::jsonb, now() FROM e
    RETURNING id, seq, type
), d AS (
    INSERT INTO webhook_deliveries (event_id, event_seq, endpoint_id)
    SELECT ev.id, ev.seq, $1 FROM ev
    RETURNING *
)
SELECT d.*, ev.type FROM d JOIN ev ON ev.id = d.event_id
"""
_DELIVERY = """
SELECT d.*, ev.type
  FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id
  JOIN webhook_endpoints e ON e.id = d.endpoint_id
"""
# One page newest first by keyset on (created_at, id), the total beside it.
LIST_DELIVERIES = f"""
SELECT (SELECT count(*) FROM webhook_deliveries t
         WHERE t.endpoint_id = $1 AND ($3::text IS NULL OR t.status = $3)) AS total, p.*
  FROM (SELECT 1) AS one
  LEFT JOIN LATERAL (
      {_DELIVERY}
       WHERE d.endpoint_id = $1 AND e.api_key_id = $2 AND ($3::text IS NULL OR d.status = $3)
         AND (d.created_at, d.id) < ($4::timestamptz, $5::uuid)
       ORDER BY d.created_at DESC, d.id DESC
       LIMIT $6
  ) AS p ON true
 ORDER BY p.created_at DESC, p.id DESC
"""
# Another attempt from now, with the whole schedule ahead of it.
REDELIVER = """
WITH d AS (
    UPDATE webhook_deliveries d
       SET status = 'PENDING', attempts = 0, next_attempt_at = now(), leased_until = NULL,
           finished_at = NULL
      FROM webhook_endpoints e
     WHERE d.id = $1 AND e.id = d.endpoint_id AND e.api_key_id = $2
    RETURNING d.*
)
SELECT d.*, ev.type FROM d JOIN webhook_events ev ON ev.id = d.event_id
"""


@dataclass(frozen=True, slots=True)
class EndpointRecord:
    id: UUID
    api_key_id: UUID
    url: str
    events: tuple[str, ...]
    description: str | None
    enabled: bool
    filter: LeadFilter | None
    created_at: datetime
    failing_since: datetime | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> EndpointRecord:
        def values(name: str) -> tuple[str, ...] | None:
            found = row[name]
            return None if found is None else tuple(found)

        lead_filter = (
            LeadFilter(
                values("filter_categories"),
                values("filter_micro_services"),
                values("filter_postcode_areas"),
            )
            if row["has_filter"]
            else None
        )
        return cls(
            id=row["id"],
            api_key_id=row["api_key_id"],
            url=row["url"],
            events=tuple(row["events"]),
            description=row["description"],
            enabled=row["enabled"],
            filter=lead_filter,
            created_at=row["created_at"],
            failing_since=row["failing_since"],
        )


@dataclass(frozen=True, slots=True)
class CreatedEndpoint:
    endpoint: EndpointRecord
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: UUID
    event_id: UUID
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    next_attempt_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> DeliveryRecord:
        return cls(
            id=row["id"],
            event_id=row["event_id"],
            event_type=row["type"],
            status=row["status"],
            attempts=row["attempts"],
            last_status_code=row["last_status_code"],
            next_attempt_at=row["next_attempt_at"],
            created_at=row["created_at"],
        )


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    deliveries: list[DeliveryRecord]
    total: int
    has_next: bool


def _spec_args(spec: EndpointSpec) -> tuple[object, ...]:
    f = spec.filter
    return (
        spec.url,
        list(spec.events),
        spec.description,
        spec.enabled,
        f is not None,
        None if f is None or f.categories is None else list(f.categories),
        None if f is None or f.micro_services is None else list(f.micro_services),
        None if f is None or f.postcode_areas is None else list(f.postcode_areas),
    )


async def insert_endpoint(
    db: Executor, *, api_key_id: UUID, spec: EndpointSpec, secret: str, max_count: int
) -> EndpointRecord | None:
    """The new endpoint; None when the key already has `max_count`."""
    row = await db.fetchrow(INSERT_ENDPOINT, api_key_id, *_spec_args(spec), secret, max_count)
    return None if row is None else EndpointRecord.from_row(row)


async def update_endpoint(
    db: Executor, *, endpoint_id: UUID, api_key_id: UUID, spec: EndpointSpec
) -> EndpointRecord | None:
    row = await db.fetchrow(UPDATE_ENDPOINT, endpoint_id, api_key_id, *_spec_args(spec))
    return None if row is None else EndpointRecord.from_row(row)


async def delete_endpoint(db: Executor, *, endpoint_id: UUID, api_key_id: UUID) -> bool:
    status = await db.execute(DELETE_ENDPOINT, endpoint_id, api_key_id)
    return status != "DELETE 0"


async def list_endpoints(db: Executor, *, api_key_id: UUID) -> list[EndpointRecord]:
    return [EndpointRecord.from_row(r) for r in await db.fetch(SELECT_ENDPOINTS, api_key_id)]


async def fetch_endpoint(
    db: Executor, *, endpoint_id: UUID, api_key_id: UUID
) -> EndpointRecord | None:
    row = await db.fetchrow(SELECT_ENDPOINT, endpoint_id, api_key_id)
    return None if row is None else EndpointRecord.from_row(row)


async def rotate_secret(
    db: Executor, *, endpoint_id: UUID, api_key_id: UUID, secret: str, overlap_seconds: float
) -> EndpointRecord | None:
    row = await db.fetchrow(ROTATE_SECRET, endpoint_id, api_key_id, secret, overlap_seconds)
    return None if row is None else EndpointRecord.from_row(row)


async def insert_test_delivery(
    db: Executor, *, endpoint_id: UUID, api_key_id: UUID
) -> DeliveryRecord | None:
    data = {"endpointId": str(endpoint_id)}
    row = await db.fetchrow(INSERT_TEST_DELIVERY, endpoint_id, api_key_id, data)
    return None if row is None else DeliveryRecord.from_row(row)


async def list_deliveries(
    db: Executor,
    *,
    endpoint_id: UUID,
    api_key_id: UUID,
    first: int,
    after: tuple[datetime, UUID],
    status: str | None,
) -> DeliveryPage:
    rows = await db.fetch(
        LIST_DELIVERIES, endpoint_id, api_key_id, status, after[0], after[1], first + 1
    )
    total = rows[0]["total"] if rows else 0
    found = [DeliveryRecord.from_row(r) for r in rows if r["id"] is not None]
    return DeliveryPage(deliveries=found[:first], total=total, has_next=len(found) > first)


async def redeliver(db: Executor, *, delivery_id: UUID, api_key_id: UUID) -> DeliveryRecord | None:
    row = await db.fetchrow(REDELIVER, delivery_id, api_key_id)
    return None if row is None else DeliveryRecord.from_row(row)
