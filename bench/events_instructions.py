"""What lookup-event logging costs the API server, counted in CPU instructions: the cached
20-slug `microServices(slugs:)` query with events on and off, each server run under valgrind's
callgrind, which counts the instructions the process executes.

    .venv/bin/python -m bench.events_instructions [--requests 800]

Why instructions: on this shared 2-core machine a process's speed drifts widely within
seconds, so a few percent of throughput cannot be told from noise; an instruction count is the
same from run to run whatever else the machine does. What it counts is the server process
alone: the request path's share of logging and the event writer's (document, COPY, protocol),
not PostgreSQL's work of storing the rows (bench/events_overhead.py reports that).

Each server (`python server.py`, one process, on a temporary database dropped afterwards) is
warmed up, then counting is switched on for exactly `--requests` requests and off again. The
flush interval is set past the run, so that only full 500-event batches are written, as under
load; under valgrind the server runs many times slower, and a 1 s timer would otherwise add
partial writes. Bounded: about a minute
per server.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path

import asyncpg

from bench.events_overhead import (
    ROOT,
    read_response,
    request_bytes,
    server_env,
    temporary_database,
    wait_until_listening,
)
from bench.processes import free_port


async def send(port: int, payload: bytes, count: int, connections: int = 4) -> None:
    """Exactly `count` requests over keep-alive connections, each answered before the next."""
    per_connection = [count // connections + (i < count % connections) for i in range(connections)]

    async def one_connection(requests: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for _ in range(requests):
                writer.write(payload)
                body = await read_response(reader)
                if b'"errors"' in body:
                    raise RuntimeError(body.decode())
        finally:
            writer.close()

    await asyncio.gather(*(one_connection(n) for n in per_connection))


def callgrind(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def require_callgrind() -> None:
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("valgrind (with callgrind_control) is needed: apt-get install valgrind")


async def start_under_callgrind(env: dict[str, str], out_dir: Path) -> asyncio.subprocess.Process:
    """`python server.py --no-migrate` under callgrind, instrumented only when switched on
    (`counted`), its dumps into `out_dir`."""
    return await asyncio.create_subprocess_exec(
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",  # start-up runs uninstrumented: faster, and not counted
        f"--callgrind-out-file={out_dir}/callgrind.%p",
        sys.executable,
        "server.py",
        "--no-migrate",
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def counted(
    pid: int, out_dir: Path, seen: set[Path], work: Awaitable[None]
) -> tuple[int, float]:
    """The instructions process `pid` executes while `work` runs, and the seconds it took:
    counting switched on for it alone, then dumped; `seen` holds the dumps read before."""
    callgrind(pid, "--instr=on")
    started = time.perf_counter()
    await work
    seconds = time.perf_counter() - started
    callgrind(pid, "--dump")
    callgrind(pid, "--instr=off")
    return _dumped(out_dir, pid, seen), seconds


def _dumped(out_dir: Path, pid: int, seen: set[Path]) -> int:
    """The instructions of the dumps of `pid` not in `seen` (which is updated)."""
    total = 0
    for dump in sorted(out_dir.glob(f"callgrind.{pid}*")):
        if dump in seen:
            continue
        seen.add(dump)
        for line in dump.read_text(errors="replace").splitlines():
            if line.startswith("totals:"):
                total += int(line.split()[1])
    return total


async def measure(url: str, slugs: list[str], events: bool, requests: int, out_dir: Path) -> float:
    """Instructions per request of one server, events on or off."""
    port = free_port()
    env = server_env(url, port, events, EVENT_FLUSH_INTERVAL="3600")
    process = await start_under_callgrind(env, out_dir)
    try:
        await wait_until_listening(port, process, within=120)  # valgrind starts slowly
        payload = request_bytes(port, slugs)
        # Warm-up: code paths, the writer's connection and its first COPYs.
        await send(port, payload, 100)
        total, _ = await counted(process.pid, out_dir, set(), send(port, payload, requests))
        return total / requests
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 60)


async def main(requests: int) -> None:
    require_callgrind()
    with tempfile.TemporaryDirectory(prefix="jw-callgrind-") as tmp:
        async with temporary_database() as (url, slugs):
            per_request = {}
            for events in (True, False):
                per_request[events] = await measure(url, slugs, events, requests, Path(tmp))
                print(
                    f"events {'on ' if events else 'off'}: "
                    f"{per_request[events]:12,.0f} instructions per request"
                )
            conn = await asyncpg.connect(url)
            try:
                stored = await conn.fetchval("SELECT count(*) FROM analytics_events")
            finally:
                await conn.close()
    on, off = per_request[True], per_request[False]
    print(
        f"logging costs the server {on - off:,.0f} instructions per 20-slug request: "
        f"{(on - off) / off * 100:+.2f} % (goal < 5 %)"
    )
    print(f"events stored by the 'on' server: {stored:,} ({(requests + 100) * 20:,} lookups made)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=800)
    args = parser.parse_args()
    asyncio.run(main(args.requests))
