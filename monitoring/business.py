"""The business view's counts: publishes refused (and their fields at fault), uploads refused by
reason, searches that matched nothing. Each is a Prometheus metric at once, and is buffered in
the process to be added to `business_counters` every few seconds (one statement a flush), so
that the dashboard reads the fleet's sum from the database rather than one worker's share. A
crash loses at most one interval's counts, which a view of trends can afford; the request
never waits on this write."""

from __future__ import annotations

import logging
from collections import Counter as Tally
from collections.abc import Iterable

import asyncpg

from db import business
from domain.business import OTHER, rejected_field_labels, unmatched_search_text
from monitoring import metrics

log = logging.getLogger("jobwizard.business")

PUBLISH_REJECTED = "publish_rejected"
REJECTED_FIELD = "rejected_field"
UPLOAD_REFUSED = "upload_refused"
SEARCH_NO_MATCH = "search_no_match"
UNMATCHED_TEXT = "unmatched_text"
# Distinct labels a process keeps between two flushes; past it, new ones count as "other" (an
# unmatched text past it is dropped: the total still counts it). A flush empties the buffer.
MAX_BUFFERED_LABELS = 500
# Distinct labels a process gives a Prometheus metric, over its life.
MAX_METRIC_LABELS = 200


class BusinessCounts:
    def __init__(self) -> None:
        self._pending: Tally[tuple[str, str]] = Tally()
        self._metric_labels: dict[str, set[str]] = {}

    def published(self) -> None:
        metrics.JOBS_PUBLISHED.inc()

    def publish_rejected(self, fields: Iterable[str], questions: Iterable[str]) -> None:
        metrics.JOBS_REJECTED.inc()
        self._add(PUBLISH_REJECTED, "")
        for label in rejected_field_labels(fields, questions):
            label = self._add(REJECTED_FIELD, label)
            metrics.JOB_REJECTION_FIELDS.labels(
                field=self._metric_label(REJECTED_FIELD, label)
            ).inc()

    def upload_stored(self) -> None:
        metrics.UPLOADS_STORED.inc()

    def upload_refused(self, reason: str) -> None:
        label = self._add(UPLOAD_REFUSED, reason[:40])
        metrics.UPLOADS_REFUSED.labels(reason=self._metric_label(UPLOAD_REFUSED, label)).inc()

    def search_without_match(self, text: str) -> None:
        metrics.SEARCHES_WITHOUT_MATCH.inc()
        self._add(SEARCH_NO_MATCH, "")
        kept = unmatched_search_text(text)
        if kept is not None and (
            (UNMATCHED_TEXT, kept) in self._pending or len(self._pending) < MAX_BUFFERED_LABELS
        ):
            self._pending[(UNMATCHED_TEXT, kept)] += 1

    def pending(self) -> dict[tuple[str, str], int]:
        return dict(self._pending)

    async def flush(self, pool: asyncpg.Pool) -> None:
        """Add the buffer to the database; on failure it is kept for the next flush."""
        taken, self._pending = self._pending, Tally()
        try:
            await business.add_counts(pool, taken)
        except BaseException:
            self._pending.update(taken)
            raise

    def _add(self, kind: str, label: str) -> str:
        key = (kind, label)
        if key not in self._pending and len(self._pending) >= MAX_BUFFERED_LABELS:
            key = (kind, OTHER)
        self._pending[key] += 1
        return key[1]

    def _metric_label(self, kind: str, label: str) -> str:
        seen = self._metric_labels.setdefault(kind, set())
        if label in seen:
            return label
        if len(seen) >= MAX_METRIC_LABELS:
            return OTHER
        seen.add(label)
        return label
