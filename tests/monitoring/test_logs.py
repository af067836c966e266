"""Repeated warnings are collapsed into one line per interval, with the count of the rest."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from monitoring.logs import FORMAT, REQUEST_ID, RepeatFilter, RequestIdFilter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO, Clock]]:
    stream, clock = io.StringIO(), Clock()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RepeatFilter(60.0, clock=clock))
    logger = logging.getLogger("tests.repeat")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        yield logger, stream, clock
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


def test_a_flood_of_one_warning_is_one_line_per_interval(
    logged: tuple[logging.Logger, io.StringIO, Clock],
) -> None:
    logger, stream, clock = logged
    for i in range(4690):
        logger.warning("Redis cache level failed (%s)", f"attempt {i}")
    clock.now = 61.0
    logger.warning("Redis cache level failed (%s)", "later")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert "attempt 0" in lines[0]
    assert "(4689 more like this in the last 60 s were not logged)" in lines[1]


def test_info_lines_and_other_warnings_pass_and_carry_the_request_id(
    logged: tuple[logging.Logger, io.StringIO, Clock],
) -> None:
    logger, stream, _ = logged
    token = REQUEST_ID.set("req-12345678")
    try:
        for _ in range(3):
            logger.info("served")
        logger.warning("one thing")
        logger.warning("another thing")
    finally:
        REQUEST_ID.reset(token)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 5
    assert all("[req-12345678]" in line for line in lines)
