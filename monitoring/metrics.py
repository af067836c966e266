"""Prometheus metrics: their definitions, the observers that feed them, and `GET /metrics`.

With several worker processes, set `PROMETHEUS_MULTIPROC_DIR` (an empty, writable folder shared
by the workers, emptied before they start) *before* the server starts: prometheus-client then
keeps each process's values in files there and `/metrics`, served by any worker, merges them
(counters and histograms summed; gauges as each one's `multiprocess_mode` says).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess

from db import analytics, business, queries
from loaders.lookup import LookupBatch

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
BREAKER_STATES = ("closed", "open", "half-open")

LOOKUP_LATENCY = Histogram(
    "jobwizard_lookup_latency_seconds",
    "Time to resolve one slug (the batch's time for every slug of the batch).",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
LOOKUP_CACHE = Counter(
    "jobwizard_lookup_cache", "Slug lookups answered by the cache (hit) or not (miss).", ["result"]
)
LOOKUP_FALLBACKS = Counter(
    "jobwizard_lookup_fallbacks", "Slug lookups that degraded to the slug-only fallback."
)
LOOKUP_FAILURES = Counter(
    "jobwizard_lookup_failures", "Slug lookups that failed, by exception class.", ["error_kind"]
)
WEBHOOK_DELIVERIES = Counter(
    "jobwizard_webhook_deliveries",
    "Webhook delivery attempts by outcome: delivered, retry (to be tried again), failed "
    "(given up), gone (410: the endpoint disabled).",
    ["outcome"],
)
WEBHOOK_PENDING = Gauge(
    "jobwizard_webhook_pending",
    "Webhook deliveries waiting to be delivered, to enabled endpoints (max over workers).",
    multiprocess_mode="max",
)
WEBHOOK_OLDEST_PENDING = Gauge(
    "jobwizard_webhook_oldest_pending_seconds",
    "Age of the oldest webhook delivery still waiting, 0 when none is (max over workers).",
    multiprocess_mode="max",
)
BREAKER_STATE = Gauge(
    "jobwizard_lookup_breaker_state",
    "1 for the circuit breaker's current state, 0 for the others (max over workers).",
    ["state"],
    multiprocess_mode="max",
)
REPLICA_STATE = Gauge(
    "jobwizard_replica_state",
    "1 for the read replica's current state (ok, lagging, down, catching_up, unknown), 0 for "
    "the others (max over workers); absent without DATABASE_REPLICA_URL.",
    ["state"],
    multiprocess_mode="max",
)
REPLICA_LAG = Gauge(
    "jobwizard_replica_lag_seconds",
    "How far the read replica's replay is behind the primary, as last measured (max over "
    "live workers).",
    multiprocess_mode="livemax",
)
REPLICA_FALLBACKS = Gauge(
    "jobwizard_replica_fallbacks",
    "Reads that failed on the replica and were answered by the primary (summed over live workers).",
    multiprocess_mode="livesum",
)
EVENTS_WRITTEN = Counter(
    "jobwizard_lookup_events_written", "Lookup events written to analytics_events."
)
EVENTS_DROPPED = Counter(
    "jobwizard_lookup_events_dropped", "Lookup events dropped because the buffer was full."
)
EVENT_WRITE_ERRORS = Counter(
    "jobwizard_lookup_event_write_errors", "Failed attempts to write a batch of lookup events."
)
EVENT_BUFFER_FILL = Gauge(
    "jobwizard_lookup_event_buffer_events",
    "Lookup events waiting in memory to be written (summed over live workers).",
    multiprocess_mode="livesum",
)
DB_QUERIES = Counter(
    "jobwizard_db_queries",
    "SQL statements sent, by constant name and outcome.",
    ["query", "outcome"],
)
DB_QUERY_DURATION = Histogram(
    "jobwizard_db_query_duration_seconds", "SQL statement duration, by constant name.", ["query"]
)
GRAPHQL_DURATION = Histogram(
    "jobwizard_graphql_request_duration_seconds",
    "GraphQL operation duration, by operation name and outcome (success | error).",
    ["operation", "outcome"],
)
RESPONSE_CACHE = Counter(
    "jobwizard_response_cache_requests",
    "Requests of cacheable operations: answered from the response cache (hit), with 304 "
    "(not_modified), or executed and kept (miss).",
    ["result"],
)

SEARCHES = Counter(
    "jobwizard_searches",
    "searchServices answers by what ranked them: keywords (they settled it, or the model is "
    "off), model, model_late (keywords stood in for a model past SEARCH_MODEL_BUDGET_MS) or "
    "model_loading (keywords, before the model was loaded).",
    ["answered_by"],
)

# The business view (monitoring/business.py): label values are bounded there.
JOBS_PUBLISHED = Counter("jobwizard_jobs_published", "Jobs published (publishJob answered a job).")
JOBS_REJECTED = Counter(
    "jobwizard_jobs_rejected", "publishJob calls refused for their input (BAD_USER_INPUT)."
)
JOB_REJECTION_FIELDS = Counter(
    "jobwizard_job_rejection_fields",
    "Fields at fault in refused publishes: an input field or a question's key (names only).",
    ["field"],
)
JOBS_ENDED = Counter(
    "jobwizard_jobs_ended",
    "Jobs that left PUBLISHED, by status: cancelled, closed, expired.",
    ["status"],
)
UPLOADS_STORED = Counter("jobwizard_uploads_stored", "Photos taken by POST /uploads.")
UPLOADS_REFUSED = Counter(
    "jobwizard_uploads_refused",
    "POST /uploads refused, by reason: the upload's reason (INVALID_IMAGE, ...) or the error code.",
    ["reason"],
)
SEARCHES_WITHOUT_MATCH = Counter(
    "jobwizard_searches_without_match", "searchServices calls with text that matched nothing."
)

_CACHE_HIT = LOOKUP_CACHE.labels(result="hit")
_CACHE_MISS = LOOKUP_CACHE.labels(result="miss")


def _statement_names() -> dict[str, str]:
    """Statement text -> the name of the constant that holds it."""
    names: dict[str, str] = {}
    for module in (queries, analytics, business):
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, str):
                names.setdefault(value, name)
    return names


class QueryMetrics:
    """asyncpg query logger: counts each statement under its constant's name ("other" for a
    statement not in db/, such as a migration file)."""

    def __init__(self) -> None:
        self._names = _statement_names()

    def __call__(self, record: Any) -> None:
        name = self._names.get(record.query, "other")
        outcome = "success" if record.exception is None else "error"
        DB_QUERIES.labels(query=name, outcome=outcome).inc()
        DB_QUERY_DURATION.labels(query=name).observe(record.elapsed)


class LookupMetrics:
    """A `LookupObserver` that feeds the lookup metrics, and the breaker gauge as it goes."""

    def __init__(self, breaker_state: Callable[[], str]) -> None:
        self._breaker_state = breaker_state  # read after every batch
        self._last_state: str | None = None

    def on_lookups(self, batch: LookupBatch) -> None:
        # Counted per batch rather than per slug: a batch has two latencies (cache hits, and
        # the rest) and one outcome, and a metric update takes a lock, which per slug was a
        # visible share of a cached request's CPU.
        count = batch.size
        hits = sum(batch.cache_hits)
        if hits:
            observe_many(LOOKUP_LATENCY, batch.cache_ms / 1000.0, hits)
            _CACHE_HIT.inc(hits)
        if count > hits:
            observe_many(LOOKUP_LATENCY, batch.elapsed_ms / 1000.0, count - hits)
            _CACHE_MISS.inc(count - hits)
        unanswered = count - sum(batch.answered)
        if unanswered:
            if batch.degraded:
                LOOKUP_FALLBACKS.inc(unanswered)
            if batch.error_kind is not None:
                LOOKUP_FAILURES.labels(error_kind=batch.error_kind).inc(unanswered)
        self.update_breaker(self._breaker_state())

    def update_breaker(self, state: str) -> None:
        if state != self._last_state:
            set_breaker_state(state)
            self._last_state = state


def observe_many(histogram: Histogram, value: float, count: int) -> None:
    """`count` observations of the same `value`: what `count` calls of `observe` record.

    prometheus-client has no bulk observe; this updates the same sum and bucket values its
    `observe` does, and falls back to the loop if a release ever lays them out differently."""
    if count == 1:
        histogram.observe(value)
        return
    buckets = getattr(histogram, "_buckets", None)
    bounds = getattr(histogram, "_upper_bounds", None)
    total = getattr(histogram, "_sum", None)
    if buckets is None or bounds is None or total is None:
        for _ in range(count):
            histogram.observe(value)
        return
    total.inc(value * count)
    for bucket, bound in zip(buckets, bounds, strict=True):
        if value <= bound:
            bucket.inc(count)
            break


def set_breaker_state(state: str) -> None:
    for known in BREAKER_STATES:
        BREAKER_STATE.labels(state=known).set(1 if known == state else 0)


REPLICA_STATES = ("ok", "lagging", "down", "catching_up", "unknown")


def set_replica_state(state: str, lag_seconds: float | None, fallbacks: int) -> None:
    for known in REPLICA_STATES:
        REPLICA_STATE.labels(state=known).set(1 if known == state else 0)
    if lag_seconds is not None:
        REPLICA_LAG.set(lag_seconds)
    REPLICA_FALLBACKS.set(fallbacks)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def render() -> tuple[bytes, str]:
    """The exposition text of this process, or of all workers in multiprocess mode."""
    registry: CollectorRegistry = REGISTRY
    if multiprocess_dir() is not None:
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    """Drop a stopped worker's live gauges (multiprocess mode only)."""
    if multiprocess_dir() is not None:
        prometheus_multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def sanitize_operation(name: str | None, known: set[str], limit: int = 200) -> str:
    """A bounded label for an operation name: clients choose the names, so past `limit`
    distinct ones, new names are counted as "other"."""
    if not name:
        return "anonymous"
    if name in known:
        return name
    if len(name) > 64 or len(known) >= limit:
        return "other"
    known.add(name)
    return name
