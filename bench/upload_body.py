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

from api.upload_body import MemoryBudget, receive_file
from bench.uploads import phone_photo
from media.images import return_large_blocks_to_the_system
from tests.support.uploads import chunked_request, multipart_body

MAX_BYTES = 10 * 1024 * 1024
MEMORY = 32 * 1024 * 1024


async def run(chunk: int, rounds: int) -> tuple[int, list[float]]:
    """The photo's size, and the CPU each round took (ms)."""
    # The allocator as the server sets it up at start: what a body's buffers cost depends on it.
    return_large_blocks_to_the_system()
    photo, memory = phone_photo(), MemoryBudget(MEMORY)
    body = multipart_body(photo)
    costs: list[float] = []
    for _ in range(rounds):
        request = chunked_request(body, chunk)  # the chunks are the network's: not counted
        started = time.thread_time()
        received = await receive_file(request, max_bytes=MAX_BYTES, memory=memory)
        received.file.read(65536)  # the decoder's first read
        received.close()
        costs.append((time.thread_time() - started) * 1000)
    return len(photo), costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--chunk", type=int, default=256 * 1024)
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    size, costs = asyncio.run(run(args.chunk, args.rounds))
    print(
        f"{time.strftime('%F %H:%M %Z')}: reading a {size / 1048576:.1f} MB photo's "
        f"body in {args.chunk // 1024} KB chunks: median {statistics.median(costs):.2f} ms, "
        f"least {min(costs):.2f} ms of CPU ({args.rounds} rounds)"
    )
    print(f"Command: `python -m bench.upload_body --chunk {args.chunk} --rounds {args.rounds}`")


if __name__ == "__main__":
    main()
