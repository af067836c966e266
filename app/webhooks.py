"""The webhook dispatcher: fans new outbox events out to deliveries, claims due deliveries,
posts them signed, records each outcome.

Any number of processes and instances run it side by side: the fan-out is one at a time (an
advisory lock tried, not waited for), claims skip what another holds, and a claimed delivery is
held by a lease in the database, not by this process. When the process stops it gives back the
leases of what it was sending; when it is killed they run out, and the deliveries are claimed
again by whoever looks next. Either way a delivery is sent at least once, possibly twice: the
receiver drops duplicates by `webhook-id`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

import asyncpg
import httpx
import orjson

from app.webhook_transport import RefusedAddressError, delivery_client
from config import Settings
from db import dispatch
from db.dispatch import Claimed
from db.errors import is_transient
from domain.webhooks import retry_after_seconds, retry_delay, signature
from monitoring import metrics

log = logging.getLogger("jobwizard.webhooks")

RESPONSE_MAX_BYTES = 4096  # enough to see an error page's start; the rest is not read
FAN_OUT_BATCH = 500
_RETRY_AFTER_CODES = (429, 503)


def body_of(claimed: Claimed) -> bytes:
    """The request body: the same bytes on every attempt."""
    stamp = claimed.event_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return orjson.dumps({"type": claimed.event_type, "timestamp": stamp, "data": claimed.data})


class Dispatcher:
    """A loop that fans out and claims while there is work and waits `WEBHOOK_POLL_SECONDS`
    when there is none, and up to `WEBHOOK_CONCURRENCY` deliveries in flight."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._schedule = settings.webhook_retry_delays
        self._timeout = settings.webhook_timeout_seconds
        # Longer than any attempt can take, so a lease outlives its attempt in a live process.
        self._lease = 2 * settings.webhook_timeout_seconds + 1
        self._poll = settings.webhook_poll_seconds
        self._concurrency = settings.webhook_concurrency
        self._per_endpoint = settings.webhook_endpoint_concurrency
        self._disable_after = settings.webhook_disable_after_days * 86400
        self._client = delivery_client(
            allow_private=settings.webhook_allow_insecure_urls,
            max_connections=settings.webhook_concurrency,
        )
        self._in_flight: dict[asyncio.Task[None], Claimed] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    def wake(self) -> None:
        """Look for work now rather than after the poll interval."""
        self._wake.set()

    async def close(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        sending = dict(self._in_flight)
        for task in sending:
            task.cancel()
        await asyncio.gather(*sending, return_exceptions=True)
        unfinished = [c for t, c in sending.items() if t.cancelled()]
        if unfinished:
            try:
                await dispatch.release(self._pool, unfinished)
            except Exception as exc:  # the leases run out instead
                log.warning("webhook leases not given back: %r", exc)
        await self._client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                busy = await self.step()
            except Exception as exc:
                if is_transient(exc):
                    log.warning("webhook dispatch paused, database unavailable: %r", exc)
                else:
                    log.exception("webhook dispatch failed")
                busy = False
            if not busy:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll)

    async def step(self) -> bool:
        """One round: fan out, claim what there is room for, start sending it. True when there
        may be more to do at once."""
        fanned = await dispatch.fan_out(self._pool, batch_size=FAN_OUT_BATCH)
        room = self._concurrency - len(self._in_flight)
        if room <= 0:
            return False  # a finishing delivery wakes the loop
        claimed = await dispatch.claim(
            self._pool, limit=room, per_endpoint=self._per_endpoint, lease_seconds=self._lease
        )
        for delivery in claimed:
            task = asyncio.create_task(self._deliver(delivery), name="webhook-delivery")
            self._in_flight[task] = delivery
            task.add_done_callback(self._finished)
        return fanned == FAN_OUT_BATCH or len(claimed) == room

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)
        self._wake.set()

    async def _deliver(self, claimed: Claimed) -> None:
        try:
            await self._attempt(claimed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the lease runs out and the delivery is tried again
            log.warning("webhook outcome not recorded: %r", exc)

    async def _attempt(self, claimed: Claimed) -> None:
        body = body_of(claimed)
        now = datetime.now(UTC)
        msg_id = str(claimed.event_id)
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature(claimed.secrets, msg_id, now, body),
        }
        status: int | None = None
        retry_after: float | None = None
        error: str | None = None
        try:
            async with asyncio.timeout(self._timeout):
                async with self._client.stream(
                    "POST", claimed.url, content=body, headers=headers
                ) as response:
                    status = response.status_code
                    retry_after = retry_after_seconds(response.headers.get("retry-after"), now)
                    read = 0
                    async for chunk in response.aiter_raw():
                        read += len(chunk)
                        if read >= RESPONSE_MAX_BYTES:
                            break
        except RefusedAddressError as exc:
            error = str(exc)
        except (httpx.HTTPError, TimeoutError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}".removesuffix(": ")
        if status is not None and 200 <= status < 300:
            metrics.WEBHOOK_DELIVERIES.labels("delivered").inc()
            await dispatch.record_delivered(self._pool, claimed, status_code=status)
            return
        gone = status == 410
        retry_in = (
            None
            if gone
            else retry_delay(
                self._schedule,
                claimed.attempts,
                retry_after if status in _RETRY_AFTER_CODES else None,
            )
        )
        outcome = "gone" if gone else "retry" if retry_in is not None else "failed"
        metrics.WEBHOOK_DELIVERIES.labels(outcome).inc()
        await dispatch.record_failed(
            self._pool,
            claimed,
            status_code=status,
            error=error,
            retry_in=retry_in,
            disable_after_seconds=self._disable_after,
            gone=gone,
        )


async def measure_backlog(pool: asyncpg.Pool) -> None:
    """The pending deliveries and the oldest one's age, for /metrics and the backlog alert."""
    found = await dispatch.backlog(pool)
    metrics.WEBHOOK_PENDING.set(found.pending)
    metrics.WEBHOOK_OLDEST_PENDING.set(found.oldest_seconds)
