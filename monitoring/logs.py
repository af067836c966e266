"""One log format for every process (the server, each uvicorn worker, the CLI): timestamp,
level, logger, request id, message; and repeated warnings collapsed into one line per interval.

uvicorn's worker processes configure logging themselves from the `log_config` they are given,
so the same dictionary goes to `logging.config.dictConfig` here and to uvicorn (ops/cli.py):
without it a worker logs in uvicorn's own format and drops the application's INFO lines.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable
from typing import Any

from cachetools import LRUCache

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"

# The id of the request being served (set by the HTTP layer), "-" outside a request.
REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record, for the format above."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class RepeatFilter(logging.Filter):
    """Lets the first of a run of identical warnings through (same logger, level and message
    template) and drops the rest for `interval` seconds; the next one after that carries the
    count of those dropped. An outage that fails every request then logs one line per
    interval instead of one per request. INFO and below pass untouched."""

    def __init__(
        self,
        interval: float = 60.0,
        *,
        max_kinds: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.interval = interval
        self._clock = clock
        # (logger, level, template) -> [start of its interval, records dropped in it]
        self._seen: LRUCache[tuple[str, int, str], list[float]] = LRUCache(max_kinds)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        entry = self._seen.get(key)
        if entry is not None and now - entry[0] < self.interval:
            entry[1] += 1
            return False
        dropped = 0 if entry is None else int(entry[1])
        self._seen[key] = [now, 0]
        if dropped:
            record.msg = (
                f"{record.getMessage()} "
                f"({dropped} more like this in the last {self.interval:g} s were not logged)"
            )
            record.args = None
        return True


def log_config(level: str, *, repeat_interval: float = 60.0) -> dict[str, Any]:
    """The `logging.config.dictConfig` dictionary of every process; uvicorn's loggers
    propagate to the root handler, so their lines share the format."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": RequestIdFilter},
            "repeats": {"()": RepeatFilter, "interval": repeat_interval},
        },
        "formatters": {"default": {"format": FORMAT}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["request_id", "repeats"],
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            name: {"handlers": [], "propagate": True, "level": level}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
        "root": {"handlers": ["default"], "level": level},
    }
