"""The body of POST /uploads read into a spool: in memory while it fits its own bound and the
process's budget, on disk otherwise, and the budget given back when it is closed."""

from __future__ import annotations

import io
import os

from api.upload_body import SPOOL_BATCH_BYTES, MemoryBudget, ReceivedFile, receive_file
from media.images import process_image
from tests.media import samples
from tests.support.uploads import multipart_request


def on_disk(received: ReceivedFile) -> bool:
    """Whether the file went to disk: told, and seen in what it is read from."""
    assert received.on_disk == (not isinstance(received.file, io.BytesIO))
    return received.on_disk


async def test_a_photo_within_the_budget_stays_in_memory_and_gives_its_share_back() -> None:
    memory = MemoryBudget(8 * 1024 * 1024)
    data = os.urandom(3 * 1024 * 1024 + 17)
    received = await receive_file(
        multipart_request(data), max_bytes=10 * 1024 * 1024, memory=memory
    )
    try:
        assert not on_disk(received)
        assert memory.free == memory.total - len(data)
        assert received.file.read() == data
    finally:
        received.close()
    assert memory.free == memory.total


async def test_a_photo_the_budget_has_no_room_for_goes_to_disk() -> None:
    memory = MemoryBudget(5 * 1024 * 1024)
    first_data, second_data = os.urandom(3 * 1024 * 1024), os.urandom(3 * 1024 * 1024)
    first = await receive_file(multipart_request(first_data), max_bytes=2**24, memory=memory)
    second = await receive_file(multipart_request(second_data), max_bytes=2**24, memory=memory)
    try:
        assert not on_disk(first)
        # The second started in memory, then moved to disk where the budget ran out, and gave
        # back what it had taken.
        assert on_disk(second)
        assert memory.free == memory.total - len(first_data)
        assert (first.file.read(), second.file.read()) == (first_data, second_data)
    finally:
        first.close()
        second.close()
    assert memory.free == memory.total


async def test_a_photo_past_its_own_bound_goes_to_disk_whatever_the_budget() -> None:
    memory = MemoryBudget(2**30)
    data = os.urandom(2 * 1024 * 1024)
    received = await receive_file(
        multipart_request(data), max_bytes=2**24, memory=memory, spool_bytes=SPOOL_BATCH_BYTES * 2
    )
    try:
        assert on_disk(received)
        assert memory.free == memory.total
        assert received.file.read() == data
    finally:
        received.close()


async def test_decoding_a_photo_kept_in_memory_reads_it_there() -> None:
    memory = MemoryBudget(8 * 1024 * 1024)
    received = await receive_file(
        multipart_request(samples.jpeg((1200, 900))), max_bytes=2**24, memory=memory
    )
    try:
        processed = process_image(received.file)
        assert (processed.image.width, processed.image.height) == (1200, 900)
        assert not on_disk(received)  # nothing asked the spool for a file descriptor
    finally:
        received.close()


async def test_bytes_that_look_like_the_boundary_arrive_whole_however_the_chunks_fall() -> None:
    # The parser hands over a near-boundary from its own look-behind, not from the chunk: the
    # file must still be every byte sent, in order, whichever chunk each came in.
    data = b"".join(b"\r\n--bou" + bytes([i]) * i + b"\r\n--" for i in range(1, 40)) * 20
    for chunk in (1, 5, 7, 64, 4096):
        memory = MemoryBudget(1024 * 1024)
        received = await receive_file(
            multipart_request(data, chunk=chunk), max_bytes=2**20, memory=memory
        )
        try:
            assert received.file.read() == data
            assert received.size == len(data)
        finally:
            received.close()
        assert memory.free == memory.total
