"""`MicroServiceLookup`: the single path from slugs to micro service rows.

Every slug resolution of the application — the DataLoader's batches, publishJob, the wizard —
ends here, so that whatever wraps this call (cache, circuit breaker, retries, lookup events)
applies to all of them. One instance lives for the process; the per-request memo is the
DataLoader's job, not this one's.

The pipeline of one batch: cache multi-get -> the misses, through the retry policy and the
circuit breaker, in one SQL statement with a timeout -> cache multi-set (rows and definite
misses) -> one `LookupBatch` (how every slug of the batch went) to the observers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import NamedTuple, Protocol
from uuid import UUID

import asyncpg

from db.errors import is_transient
from db.records import MicroServiceRecord
from db.replica import ReadRoute
from db.repository import fetch_micro_services_by_slugs, list_micro_services
from domain.catalogue import MAX_SLUG_LENGTH
from loaders.breaker import BreakerOpen, LookupBreaker
from loaders.cache import NOT_FOUND, CachedLookup, LookupCache
from loaders.errors import LookupUnavailableError, UUIDLookupError
from loaders.retry import RetryPolicy

log = logging.getLogger(__name__)


class LookupEvent(NamedTuple):
    """How one slug's lookup went: one `uuid_lookup` event, as `analytics_events` stores it."""

    slug: str
    uuid: UUID | None
    lookup_time_ms: float
    cache_hit: bool
    success: bool  # the lookup produced an answer (a row, or a definite "no such slug")
    fallback_used: bool  # the caller had to make do without a UUID (degraded)
    error_kind: str | None  # exception class name when the lookup failed


class LookupBatch(NamedTuple):
    """How one batch went, slug by slug: `slugs`, `uuids`, `cache_hits` and `answered` line
    up, one slot per distinct slug, and the rest is shared by the whole batch.

    One object per batch rather than one `LookupEvent` per slug: building, buffering and
    serialising per-slug objects was nearly all that event logging cost a cached request, and
    a batch shares its timings and outcome anyway. `events()` gives the per-slug view."""

    slugs: Sequence[str]
    uuids: Sequence[str | None]  # as text: what the event log stores
    cache_hits: Sequence[bool]
    answered: Sequence[bool]  # a row, or a definite "no such slug"
    cache_ms: float  # the cache read: the lookup time of a cache hit
    elapsed_ms: float  # the whole batch: the lookup time of every other slug
    error_kind: str | None  # why the unanswered slugs were not answered
    degraded: bool  # unanswered slugs reach their callers as LookupUnavailableError

    @property
    def size(self) -> int:
        return len(self.slugs)

    def part(self, start: int, stop: int) -> LookupBatch:
        """The slots `start:stop` as a batch of their own."""
        return self._replace(
            slugs=self.slugs[start:stop],
            uuids=self.uuids[start:stop],
            cache_hits=self.cache_hits[start:stop],
            answered=self.answered[start:stop],
        )

    def events(self) -> list[LookupEvent]:
        return [
            LookupEvent(
                slug=slug,
                uuid=None if uuid is None else UUID(uuid),
                lookup_time_ms=self.cache_ms if hit else self.elapsed_ms,
                cache_hit=hit,
                success=answered,
                # Unanswered slugs reach their caller as LookupUnavailableError: it serves
                # them without a UUID (wizard, publishJob) or as SERVICE_UNAVAILABLE.
                fallback_used=self.degraded and not answered,
                error_kind=None if answered else self.error_kind,
            )
            for slug, uuid, hit, answered in zip(
                self.slugs, self.uuids, self.cache_hits, self.answered, strict=True
            )
        ]


class LookupObserver(Protocol):
    """Told about every batch. Called inline on the request path, so it must not block or
    await: buffer and return."""

    def on_lookups(self, batch: LookupBatch) -> None: ...


Resolved = MicroServiceRecord | None | LookupUnavailableError
"""One slot of `resolve_each`: the row, None for "no such slug", or why it is unknown now."""


class MicroServiceLookup:
    def __init__(
        self,
        pool: asyncpg.Pool | ReadRoute,
        observers: Sequence[LookupObserver] = (),
        *,
        cache: LookupCache,
        breaker: LookupBreaker,
        retry: RetryPolicy,
        statement_timeout: float,
    ) -> None:
        # Lookups are catalogue reads: on the replica while it is usable (db/replica.py).
        self._reads = pool if isinstance(pool, ReadRoute) else ReadRoute(pool)
        self._observers = tuple(observers)
        self.cache = cache
        self.breaker = breaker
        self.retry = retry
        self.statement_timeout = statement_timeout

    @property
    def breaker_state(self) -> str:
        """ "closed", "open" or "half-open": for /health, alerts and metrics."""
        return self.breaker.state

    async def resolve(self, slugs: Sequence[str]) -> list[MicroServiceRecord | None]:
        """Rows for `slugs`, aligned with them (None for an unknown slug), in at most one
        statement; raise `LookupUnavailableError` when any of them cannot be had now."""
        results = await self.resolve_each(slugs)
        for result in results:
            if isinstance(result, UUIDLookupError):
                raise result
        return [r for r in results if not isinstance(r, UUIDLookupError)]

    async def resolve_each(self, slugs: Sequence[str], *, observed: bool = True) -> list[Resolved]:
        """Like `resolve`, but a slug that cannot be had now gets a `LookupUnavailableError`
        in its slot while the cached ones are still answered (the DataLoader's contract).
        `observed=False`: slugs the server chose itself (suggestions), not a caller's lookups,
        so no observer (the lookup event log) hears of them."""
        # A slug longer than any the catalogue allows is a definite miss: answered here, neither
        # cached (junk must not fill the cache) nor sent to the database or the event log.
        unique = list(dict.fromkeys(slug for slug in slugs if len(slug) <= MAX_SLUG_LENGTH))
        if not unique:
            return [None for _ in slugs]
        started = time.perf_counter()
        generation = self.cache.generation
        cached = await self.cache.get_many(unique)
        answers: dict[str, CachedLookup] = {
            slug: value for slug, value in zip(unique, cached, strict=True) if value is not None
        }
        hits = set(answers)
        cache_ms = (time.perf_counter() - started) * 1000.0
        misses = [slug for slug in unique if slug not in hits]
        failure: LookupUnavailableError | None = None
        if misses:
            # PostgreSQL text cannot hold a NUL character, so no micro service has such a
            # slug: asking would only fail the statement, and every slug of the batch with it.
            queryable = [slug for slug in misses if "\x00" not in slug]
            try:
                found = await self._fetch(queryable) if queryable else {}
            except LookupUnavailableError as exc:
                failure = exc
            except BaseException as exc:  # unexpected, or cancelled: reported, then re-raised
                if observed:
                    self._report(
                        unique, answers, hits, started, cache_ms, type(exc).__name__, degraded=False
                    )
                raise
            else:
                not_found = [slug for slug in misses if slug not in found]
                answers.update(found)
                answers.update((slug, NOT_FOUND) for slug in not_found)
                await self.cache.set_many(found, not_found, generation=generation)
        if observed:
            cause = None if failure is None else failure.cause_kind
            self._report(unique, answers, hits, started, cache_ms, cause, degraded=True)
        return [
            self._slot(answers.get(slug), failure) if len(slug) <= MAX_SLUG_LENGTH else None
            for slug in slugs
        ]

    async def warm_up(self) -> int:
        """Load every active micro service into the cache in one statement; return how many."""

        async def read(pool: asyncpg.Pool) -> list[MicroServiceRecord]:
            async with asyncio.timeout(self.statement_timeout):
                return await list_micro_services(pool)

        generation = self.cache.generation
        records = await self._reads.read(read)
        await self.cache.set_many(
            {record.slug: record for record in records}, generation=generation
        )
        return len(records)

    async def invalidate(self, slugs: Sequence[str]) -> None:
        """Forget the cached answers for `slugs` (both levels): the catalogue changed."""
        await self.cache.invalidate(slugs)

    async def close(self) -> None:
        await self.cache.close()

    async def _fetch(self, slugs: list[str]) -> dict[str, MicroServiceRecord]:
        async def attempt() -> dict[str, MicroServiceRecord]:
            return await self.breaker.call(lambda: self._query(slugs))

        try:
            return await self.retry.call(attempt, retry_on=is_transient)
        except BreakerOpen as exc:
            raise LookupUnavailableError(
                "Micro service lookups are paused after repeated database failures; retry shortly.",
                cause_kind=type(exc.__cause__ or exc).__name__,
            ) from exc
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("lookup of %d slug(s) failed after retries: %r", len(slugs), exc)
            raise LookupUnavailableError(
                "The micro service catalogue is not answering right now; retry shortly.",
                cause_kind=type(exc).__name__,
            ) from exc

    async def _query(self, slugs: list[str]) -> dict[str, MicroServiceRecord]:
        # A replica that fails is left at once and the same attempt asks the primary: a replica
        # going away costs the breaker nothing.
        return await self._reads.read(lambda pool: self._query_on(pool, slugs))

    async def _query_on(
        self, pool: asyncpg.Pool, slugs: list[str]
    ) -> dict[str, MicroServiceRecord]:
        # One deadline for the whole attempt, pool acquire and connect included.
        deadline = asyncio.get_running_loop().time() + self.statement_timeout
        async with asyncio.timeout_at(deadline):
            conn = await pool.acquire()
        try:
            async with asyncio.timeout_at(deadline):
                return await fetch_micro_services_by_slugs(conn, slugs=slugs)
        except (TimeoutError, asyncio.CancelledError):
            # A connection whose statement was abandoned is in an unknown state, and a polite
            # cancel-and-reset would wait on the very network that is slow: drop it instead.
            conn.terminate()
            raise
        finally:
            await pool.release(conn)

    @staticmethod
    def _slot(answer: CachedLookup | None, failure: LookupUnavailableError | None) -> Resolved:
        if answer is None:
            assert failure is not None  # every slug is answered unless the fetch failed
            return failure
        return answer if isinstance(answer, MicroServiceRecord) else None  # else NOT_FOUND

    def _report(
        self,
        slugs: Sequence[str],
        answers: dict[str, CachedLookup],
        hits: set[str],
        started: float,
        cache_ms: float,
        error_kind: str | None,
        *,
        degraded: bool,
    ) -> None:
        if not self._observers:
            return
        get = answers.get
        uuids = [a.id_text if isinstance(a, MicroServiceRecord) else None for a in map(get, slugs)]
        if len(hits) == len(slugs):  # all from the cache: the common case, kept cheap
            cache_hits = answered = (True,) * len(slugs)
        else:
            cache_hits = tuple([slug in hits for slug in slugs])
            answered = tuple([slug in answers for slug in slugs])
        batch = LookupBatch(
            slugs=slugs,
            uuids=uuids,
            cache_hits=cache_hits,
            answered=answered,
            cache_ms=cache_ms,
            elapsed_ms=(time.perf_counter() - started) * 1000.0,
            error_kind=error_kind,
            degraded=degraded,
        )
        for observer in self._observers:
            observer.on_lookups(batch)
