"""A response's head written with its body (api/one_write.py): one write per response, an
interim `100 Continue` at once, and a head the connection closes on still written."""

from __future__ import annotations

import asyncio
from typing import cast

from api.one_write import HeadWithBody
from tests.support.transport import MemoryTransport

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def _through() -> tuple[HeadWithBody, MemoryTransport]:
    transport = MemoryTransport()
    return HeadWithBody(cast("asyncio.Transport", transport)), transport


def test_the_head_goes_out_with_the_first_body_bytes_and_the_rest_as_written() -> None:
    cycle, transport = _through()
    cycle.write(HEAD)
    assert transport.written == []
    cycle.write(b"hel")
    cycle.write(b"lo")
    assert transport.written == [HEAD + b"hel", b"lo"]


def test_an_interim_continue_goes_out_at_once_and_the_head_after_it_waits() -> None:
    cycle, transport = _through()
    cycle.write(CONTINUE)
    assert transport.written == [CONTINUE]
    cycle.write(HEAD)
    cycle.write(b"hello")
    assert transport.written == [CONTINUE, HEAD + b"hello"]


def test_a_head_the_connection_closes_on_is_written_before_the_close() -> None:
    cycle, transport = _through()
    cycle.write(HEAD)
    assert not cycle.is_closing()
    cycle.close()
    assert transport.written == [HEAD]
    assert transport.closed
    assert cycle.is_closing()
