"""Helpers for the resilience tests: a lookup wired to a real pool (optionally through a
proxy), a recording observer, and per-run Redis namespaces that are cleaned up."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import redis.asyncio as redis_client

from app.wiring import create_lookup
from db.pool import create_pool
from loaders.cache import LookupCache
from loaders.lookup import LookupBatch, LookupEvent, MicroServiceLookup
from tests.support import REDIS_URL, StatementRecorder, test_settings

SLUGS = ("wall-painting", "ceiling-painting", "woodwork-painting", "whole-room-decorating")


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


def cache_for(**overrides: Any) -> LookupCache:
    """A lookup cache built as the app builds it, from the test settings plus `overrides`."""
    return LookupCache.from_settings(test_settings(**overrides))


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
    """A `MicroServiceLookup` on its own small pool, wired as the app wires it."""
    settings = test_settings(
        breaker_fail_max=fail_max,
        breaker_reset_seconds=reset_timeout,
        retry_attempts=attempts,
        retry_budget_ms=round(budget * 1000),
        lookup_statement_timeout_ms=round(statement_timeout * 1000),
    )
    recorder = StatementRecorder()
    pool = await create_pool(database_url, min_size=1, max_size=4, query_loggers=[recorder])
    events = EventLog()
    lookup = create_lookup(pool, settings, [events], cache=cache)
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
