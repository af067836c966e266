"""The access log, cheap: the very line uvicorn's `uvicorn.access` logger writes through the
configured handler (monitoring/logs.py's format: timestamp, level, logger, request id, message),
formatted without a `LogRecord` and written in batches.

Through `logging`, one line per request was a large share of a cached answer's cost
(docs/benchmarks.md): a record, two filters, a `strftime` for the timestamp, and a write and
flush to stderr each.
Here the timestamp's date and time are formatted once a second, and lines are gathered and
written together a moment later (`FLUSH_SECONDS`, or at once past `MAX_PENDING` lines, and at
exit): one write for many requests, off the response's path.

Whenever the configuration is not the one this copies (other handlers on the way, another
format, the logger disabled), a line goes through `logging` as before, so that what is logged
never differs; tests that capture logs see every line.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import time
from typing import Any

from monitoring.logs import FORMAT, REQUEST_ID, RepeatFilter, RequestIdFilter

FLUSH_SECONDS = 0.1
MAX_PENDING = 512

_FILTERS = (RequestIdFilter, RepeatFilter)  # RepeatFilter passes INFO lines untouched


class AccessLog:
    """Stands in for uvicorn's access logger: uvicorn only ever calls `info` on it."""

    def __init__(self, name: str = "uvicorn.access") -> None:
        self.logger = logging.getLogger(name)
        self._pending: list[str] = []
        self._handler: logging.StreamHandler[Any] | None = None
        self._second = -1
        self._stamp = ""
        atexit.register(self.flush)

    def info(self, msg: str, *args: object) -> None:
        logger = self.logger
        if not logger.isEnabledFor(logging.INFO):
            return
        handler = self._direct()
        if handler is None:
            self.flush()  # lines already gathered stay ahead of this one
            logger.info(msg, *args)
            return
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        millis = int((now - second) * 1000)
        pending = self._pending
        pending.append(
            f"{self._stamp},{millis:03d} INFO {logger.name} [{REQUEST_ID.get()}] "
            f"{msg % args}{handler.terminator}"
        )
        if len(pending) >= MAX_PENDING:
            self.flush()
        elif len(pending) == 1:
            try:
                asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)
            except RuntimeError:  # no event loop here: nothing would flush it later
                self.flush()

    def flush(self) -> None:
        pending = self._pending
        handler = self._handler
        if not pending or handler is None:
            return
        self._pending = []
        with handler.lock or _NO_LOCK:
            try:
                handler.stream.write("".join(pending))
                handler.stream.flush()
            except (OSError, ValueError):
                pass  # a closed or broken stderr: as logging's handler, never fail a request

    def _direct(self) -> logging.StreamHandler[Any] | None:
        """The one handler every access line reaches, when it is a stream handler in the
        configured format and nothing else sees the line; None otherwise."""
        logger: logging.Logger | None = self.logger
        found: logging.Handler | None = None
        while logger is not None:
            if logger.disabled:
                return None
            handlers = logger.handlers
            if handlers:
                if found is not None or len(handlers) != 1:
                    return None
                found = handlers[0]
            if not logger.propagate:
                break
            logger = logger.parent
        if found is self._handler and found is not None:
            return self._handler
        self.flush()
        self._handler = _usable(found)
        return self._handler


def _usable(handler: logging.Handler | None) -> logging.StreamHandler[Any] | None:
    if type(handler) is not logging.StreamHandler or handler.level > logging.INFO:
        return None
    formatter = handler.formatter
    if (
        type(formatter) is not logging.Formatter
        or formatter._fmt != FORMAT
        or formatter.datefmt is not None
        or formatter.default_msec_format != "%s,%03d"
        or formatter.converter is not time.localtime
    ):
        return None
    if not all(isinstance(f, _FILTERS) for f in handler.filters):
        return None
    return handler


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NO_LOCK = _NoLock()

ACCESS_LOG = AccessLog()
