"""Helpers for the resilience tests: a lookup wired to a real pool (optionally through a
proxy), a recording observer, and per-run Redis namespaces that are cleaned up."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import redis.asyncio as redis_client

from db.errors import is_transient
from db.pool import create_pool
from loaders.breaker import LookupBreaker
from loaders.cache import LookupCache
from loaders.lookup import LookupBatch, LookupEvent, MicroServiceLookup
from loaders.retry import RetryPolicy
from tests.support import StatementRecorder

REDIS_URL = "redis://127.0.0.1:6379/0"
SLUGS = ("wall-painting", "ceiling-painting", "woodwork-painting", "whole-room-decorating")

WALL_PAINTING_ANSWERS = {
    "room_type": "bedroom",
    "wall_count": 4,
    "wall_condition": "good",
    "paint_supplied": False,
    "property_type": "detached_house",
    "floor_level": "ground",
    "parking": "driveway",
    "start_timing": "within_a_week",
    "budget_range": "under_250",
}


class EventLog:
    """A LookupObserver that keeps every event."""

    def __init__(self) -> None:
        self.events: list[LookupEvent] = []

    def on_lookups(self, batch: LookupBatch) -> None:
        self.events.extend(batch.events())


@dataclass
class LookupRig:
    lookup: MicroServiceLookup
    statements: StatementRecorder
    events: EventLog


@contextlib.asynccontextmanager
async def lookup_rig(
    database_url: str,
    *,
    fail_max: int = 5,
    reset_timeout: float = 30.0,
    attempts: int = 3,
    budget: float = 0.25,
    statement_timeout: float = 1.0,
    cache: LookupCache | None = None,
) -> AsyncIterator[LookupRig]:
    """A `MicroServiceLookup` on its own small pool, as the app builds it."""
    recorder = StatementRecorder()
    pool = await create_pool(database_url, min_size=1, max_size=4, query_loggers=[recorder])
    events = EventLog()
    lookup = MicroServiceLookup(
        pool,
        [events],
        cache=cache if cache is not None else LookupCache.create(),
        breaker=LookupBreaker(
            fail_max=fail_max, reset_timeout=reset_timeout, is_failure=is_transient
        ),
        retry=RetryPolicy(attempts=attempts, budget=budget),
        statement_timeout=statement_timeout,
    )
    try:
        yield LookupRig(lookup, recorder, events)
    finally:
        await lookup.close()
        pool.terminate()


def unique_namespace() -> str:
    return f"jw-test-{uuid.uuid4().hex[:12]}:ms"


async def drop_namespace(namespace: str, url: str = REDIS_URL) -> None:
    """Delete this test's keys, and only those, from the shared Redis."""
    client: Any = redis_client.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{namespace}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
