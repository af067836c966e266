"""context/headers.py: a request header's value without Starlette's KeyError for a missing one."""

from __future__ import annotations

import sys
import threading
from types import FrameType
from typing import Any

import pytest
from starlette.datastructures import Headers

from context.headers import header

RAW = [
    (b"host", b"127.0.0.1:8000"),
    (b"accept", b"application/json"),
    (b"x-tag", b"first"),
    (b"x-tag", b"second"),
    (b"x-latin", "café".encode("latin-1")),
]


@pytest.mark.parametrize("name", [b"host", b"accept", b"x-tag", b"x-latin", b"x-request-id", b""])
def test_the_same_value_as_starlette_gives(name: bytes) -> None:
    headers = Headers(raw=RAW)
    assert header(headers, name) == headers.get(name.decode())


def _exceptions_raised(call: Any) -> list[str]:
    """The exceptions raised (and caught or not) in Python frames while `call()` runs. Traced
    in a thread of its own: a trace function is per thread, and the test run's own (coverage's)
    must stay in place in this one."""
    raised: list[str] = []

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "exception":
            raised.append(arg[0].__name__)
        return tracer

    def traced() -> None:
        sys.settrace(tracer)
        try:
            call()
        finally:
            sys.settrace(None)

    thread = threading.Thread(target=traced)
    thread.start()
    thread.join()
    return raised


def test_a_missing_header_is_none_and_raises_nothing_on_the_way() -> None:
    headers = Headers(raw=RAW)
    assert header(headers, b"accept-encoding") is None
    assert _exceptions_raised(lambda: header(headers, b"accept-encoding")) == []
    # What it replaces, for the same header: the tracer sees Starlette's KeyError.
    assert "KeyError" in _exceptions_raised(lambda: headers.get("accept-encoding"))
