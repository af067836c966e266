"""The access log's own writer (api/access_log.py) writes the very lines `logging` would, with
the configured format, in batches; anything but that configuration goes through `logging`."""

from __future__ import annotations

import io
import logging
import logging.config
import re
from collections.abc import Iterator

import pytest

from api.access_log import AccessLog
from monitoring.logs import REQUEST_ID, log_config

NAME = "jobwizard.test.access"
LINE = '%s - "%s %s HTTP/%s" %d'
ARGS = ("127.0.0.1:5000", "POST", "/graphql", "1.1", 200)
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """The configured root handler (monitoring/logs.py), writing into a string."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    logging.config.dictConfig(log_config("INFO"))
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    out = io.StringIO()
    handler.setStream(out)
    try:
        yield out
    finally:
        root.handlers[:], root.level = saved


def _alone() -> None:
    """Only the configured handler on the root logger: pytest's capture handlers, added for
    each test, would send lines through `logging` (as any other handler does)."""
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if type(h) is logging.StreamHandler]


def test_a_batched_line_is_the_line_logging_writes(stream: io.StringIO) -> None:
    _alone()
    access = AccessLog(NAME)
    token = REQUEST_ID.set("0123456789abcdef")
    try:
        access.info(LINE, *ARGS)  # no event loop here: written at once
        logging.getLogger(NAME).info(LINE, *ARGS)
    finally:
        REQUEST_ID.reset(token)
    fast, slow = stream.getvalue().splitlines()
    assert STAMP.match(fast)
    assert STAMP.sub("", fast) == STAMP.sub("", slow)
    assert fast.endswith(f"INFO {NAME} [0123456789abcdef] {LINE % ARGS}")


async def test_lines_are_gathered_and_written_together(stream: io.StringIO) -> None:
    _alone()
    access = AccessLog(NAME)
    for _ in range(3):
        access.info(LINE, *ARGS)
    assert stream.getvalue() == ""  # waiting for the batch
    access.flush()
    assert len(stream.getvalue().splitlines()) == 3


def test_another_handler_gets_every_line_through_logging(
    stream: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    access = AccessLog(NAME)
    with caplog.at_level(logging.INFO, logger=NAME):
        access.info(LINE, *ARGS)
    assert [r.getMessage() for r in caplog.records] == [LINE % ARGS]
    logging.getLogger(NAME).setLevel(logging.WARNING)
    try:
        access.info(LINE, *ARGS)  # below the level: nothing, as with logging
    finally:
        logging.getLogger(NAME).setLevel(logging.NOTSET)
    assert len(caplog.records) == 1
