"""What reading a photo's multipart body costs the event loop's thread, in process: the body of
`bench.uploads`' 3 MB phone photo fed to `api/upload_body.py` `receive_file` in network-sized
chunks, kept in memory (within the budget), read back as the decoder's first read does.

    .venv/bin/python -m bench.upload_body [--chunk 262144] [--rounds 60]

No server and no database, but the allocator set up as the server's (large blocks handed back
to the system): CPU (thread time) per body, median and least of the rounds. Run it
in two checkouts (`git worktree add /tmp/base <commit>`, then `cd /tmp/base && python -m
bench.upload_body`) to compare two versions on one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from starlette.requests import Request
from starlette.types import Message

from api.upload_body import MemoryBudget, receive_file
from bench.uploads import phone_photo
from media.images import return_large_blocks_to_the_system

BOUNDARY = b"bench"
MAX_BYTES = 10 * 1024 * 1024
MEMORY = 32 * 1024 * 1024


def body_of(photo: bytes) -> bytes:
    return (
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="file"; '
        b'filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        + photo
        + b"\r\n--"
        + BOUNDARY
        + b"--\r\n"
    )


def request_for(body: bytes, chunk: int) -> Request:
    chunks = [body[i : i + chunk] for i in range(0, len(body), chunk)]

    async def receive() -> Message:
        data = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": data, "more_body": bool(chunks)}

    content_type = b"multipart/form-data; boundary=" + BOUNDARY
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/uploads",
        "headers": [(b"content-type", content_type)],
    }
    return Request(scope, receive)


async def run(chunk: int, rounds: int) -> list[float]:
    # The allocator as the server sets it up at start: what a body's buffers cost depends on it.
    return_large_blocks_to_the_system()
    body, memory = body_of(phone_photo()), MemoryBudget(MEMORY)
    costs: list[float] = []
    for _ in range(rounds):
        request = request_for(body, chunk)  # the chunks are the network's: not counted
        started = time.thread_time()
        received = await receive_file(request, max_bytes=MAX_BYTES, memory=memory)
        received.file.read(65536)  # the decoder's first read
        received.close()
        costs.append((time.thread_time() - started) * 1000)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--chunk", type=int, default=256 * 1024)
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    costs = asyncio.run(run(args.chunk, args.rounds))
    print(
        f"{time.strftime('%F %H:%M %Z')}: reading a {len(phone_photo()) / 1048576:.1f} MB photo's "
        f"body in {args.chunk // 1024} KB chunks: median {statistics.median(costs):.2f} ms, "
        f"least {min(costs):.2f} ms of CPU ({args.rounds} rounds)"
    )
    print(f"Command: `python -m bench.upload_body --chunk {args.chunk} --rounds {args.rounds}`")


if __name__ == "__main__":
    main()
