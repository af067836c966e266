"""The body of POST /uploads: one file from a multipart/form-data stream, size-bounded as it
arrives.

Starlette's `request.form()` bounds the number of parts but not a file's size, and reads the
whole body before anyone can say no; this reads the stream through python-multipart's parser
and stops at the first byte past the limit. The file is kept in memory while it is at most
`spool_bytes` (a phone photo whole) and the process's `MemoryBudget` for upload bodies has room
for it, and goes to a temporary file on disk otherwise (written a batch at a time). So a request
holds at most `spool_bytes` of it in memory, and all requests together at most the budget,
however many arrive at once; a photo kept in memory costs no disk write, no read back and no
thread hop per batch.

In memory, the file is the network's own chunks until its last byte, then joined once: the
parser hands over each piece as a view of the chunk it arrived in, not a copy, and no buffer is
grown and copied batch by batch.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.http_errors import (
    BadRequestError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)

FILE_FIELD = "file"
# Room for the multipart envelope around the file: boundaries, part headers, a small field or
# two. A body larger than the file limit plus this cannot be a valid upload.
ENVELOPE_BYTES = 16 * 1024
MAX_PARTS = 4
MAX_FIELD_BYTES = 1024  # a part other than the file (clients add a name or a caption)
SPOOL_BYTES = 4 * 1024 * 1024
# File bytes gathered before they are placed (kept, or written to disk): a write on disk goes
# through a worker thread, and a hop per network chunk costs more CPU than the writes themselves.
SPOOL_BATCH_BYTES = 256 * 1024


class MemoryBudget:
    """Bytes of upload bodies the process holds in memory at once, shared by every upload: a
    body is kept in memory only while it can take its bytes from here, and gives them back
    when it is closed. Used on the event loop only, so it needs no lock."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.free = total

    def take(self, count: int) -> bool:
        if count > self.free:
            return False
        self.free -= count
        return True

    def give(self, count: int) -> None:
        self.free = min(self.free + count, self.total)


@dataclass(slots=True)
class ReceivedFile:
    """The file part: its bytes (rewound), their count, and what the client said about them
    (never trusted: the content is what decides)."""

    file: IO[bytes]
    size: int
    filename: str | None
    declared_type: str | None
    _release: Callable[[], None] = lambda: None  # its bytes' share of the memory budget
    on_disk: bool = False  # in a temporary file rather than in memory

    def close(self) -> None:
        self.file.close()
        self._release()


@dataclass(slots=True)
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str | None = None
    filename: str | None = None
    size: int = 0


class _Collector:
    """python-multipart callbacks collecting the one file part, everything bounded."""

    def __init__(self, max_bytes: int, spool_bytes: int, memory: MemoryBudget) -> None:
        self.max_bytes = max_bytes
        self.disk: IO[bytes] | None = None  # made by `_spool`, never on the event loop
        self.memory = memory
        self.held = 0  # of `pending_bytes`, taken from `memory` while the file is in memory
        self.parts = 0
        self.file: ReceivedFile | None = None
        # File bytes not on disk: all of them while the file is in memory, else those to write
        # once the parser returns. Views of the chunks they arrived in, or copies of a buffer
        # that is not bytes (its owner may write it again).
        self.pending: list[bytes | memoryview] = []
        self.pending_bytes = 0
        self.spool_bytes = spool_bytes
        self.ended = False
        self._part = _Part()
        self._header_field = b""
        self._header_value = b""

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_end": self._on_end,
        }

    def _on_end(self) -> None:
        self.ended = True

    def release(self) -> None:
        """Give the file's share of the memory budget back (closed, or moved to disk)."""
        held, self.held = self.held, 0
        self.memory.give(held)

    @property
    def unspooled(self) -> int:
        """File bytes received since `_spool` last placed them: in memory, or on disk."""
        return self.pending_bytes - self.held

    def discard(self) -> None:
        self.pending.clear()
        if self.disk is not None:
            self.disk.close()
        self.release()

    def rewound(self) -> IO[bytes]:
        """The whole file, read from its start: the pieces joined (one copy), or the file on
        disk."""
        if self.disk is None:
            data = b"".join(self.pending)
            self.pending.clear()
            return io.BytesIO(data)  # shares `data`: nothing more is written to it
        self.disk.seek(0)
        return self.disk

    def _on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise BadRequestError(f"At most {MAX_PARTS} parts; send one file.")
        self._part = _Part()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._part.headers[self._header_field.lower()] = self._header_value
        self._header_field, self._header_value = b"", b""

    def _on_headers_finished(self) -> None:
        part = self._part
        disposition, options = parse_options_header(part.headers.get(b"content-disposition"))
        if disposition != b"form-data":
            raise BadRequestError("Each part needs Content-Disposition: form-data.")
        part.name = options.get(b"name", b"").decode("latin-1")
        if b"filename" in options:
            part.filename = options[b"filename"].decode("utf-8", "replace")[:255]
        if part.name == FILE_FIELD:
            if self.file is not None:
                raise BadRequestError("One file a request: send each photo alone.")
            declared = part.headers.get(b"content-type")
            self.file = ReceivedFile(
                file=io.BytesIO(),  # the bytes, once they are all in: `rewound`
                size=0,
                filename=part.filename,
                declared_type=None if declared is None else declared.decode("latin-1")[:100],
                _release=self.release,
            )

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        part.size += end - start
        if part.name == FILE_FIELD and self.file is not None:
            if part.size > self.max_bytes:
                raise too_large(self.max_bytes)
            self.file.size = part.size
            piece = memoryview(data)[start:end] if type(data) is bytes else bytes(data[start:end])
            self.pending.append(piece)
            self.pending_bytes += end - start
        elif part.size > MAX_FIELD_BYTES:
            raise BadRequestError(
                f"A part other than '{FILE_FIELD}' may hold {MAX_FIELD_BYTES} bytes."
            )


def too_large(max_bytes: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"The file is too large: at most {max_bytes} bytes.", limit=max_bytes
    )


def _boundary(request: Request) -> bytes:
    content_type, options = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data":
        raise UnsupportedMediaTypeError(
            f"Send multipart/form-data with the image in a part named '{FILE_FIELD}'."
        )
    boundary = options.get(b"boundary", b"")
    if not 1 <= len(boundary) <= 70:  # RFC 2046's bounds
        raise BadRequestError("The multipart boundary is missing or invalid.")
    return boundary


async def receive_file(
    request: Request,
    *,
    max_bytes: int,
    memory: MemoryBudget,
    spool_bytes: int = SPOOL_BYTES,
) -> ReceivedFile:
    """The part named `file` of `request`'s multipart body, rewound; a refusal, 400 (no file
    part, malformed body), 413 (past `max_bytes`) or 415 (not multipart) otherwise. Kept in
    memory while it fits `spool_bytes` and `memory` has room for it."""
    boundary = _boundary(request)
    body_limit = max_bytes + ENVELOPE_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > body_limit:
        raise too_large(max_bytes)
    collector = _Collector(max_bytes, spool_bytes, memory)
    parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > body_limit:  # a lying or absent Content-Length gets no further
                raise too_large(max_bytes)
            parser.write(chunk)
            if collector.unspooled >= SPOOL_BATCH_BYTES:
                await _spool(collector)
        parser.finalize()
        if collector.unspooled:
            await _spool(collector)
    except MultipartParseError as exc:
        collector.discard()
        raise BadRequestError("The multipart body is malformed.") from exc
    except BaseException:
        collector.discard()
        raise
    if collector.file is None:
        collector.discard()
        raise BadRequestError(
            f"The body has no file part: send the image in a part named '{FILE_FIELD}'."
        )
    if not collector.ended:
        collector.discard()
        raise BadRequestError("The multipart body ends before its closing boundary.")
    collector.file.on_disk = collector.disk is not None
    collector.file.file = collector.rewound()
    return collector.file


async def _spool(collector: _Collector) -> None:
    """Place the bytes received since the last call: kept in memory while the file fits its
    bound and the budget has room for them, else written to disk with what was kept before."""
    count = collector.unspooled
    if (
        collector.disk is None
        and collector.pending_bytes <= collector.spool_bytes
        and collector.memory.take(count)
    ):
        collector.held += count
        return
    data, collector.pending, collector.pending_bytes = b"".join(collector.pending), [], 0
    # On disk from now on, in a worker thread: disk writes would hold up the event loop.
    if collector.disk is None:
        collector.disk = await run_in_threadpool(_to_disk, data)
        collector.release()  # after: the bytes are in memory until they are on disk
    else:
        await run_in_threadpool(collector.disk.write, data)


def _to_disk(data: bytes) -> IO[bytes]:
    disk = tempfile.TemporaryFile()  # noqa: SIM115 (closed with the ReceivedFile)
    disk.write(data)
    return disk
