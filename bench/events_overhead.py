"""What lookup-event logging costs: throughput of the 20-slug `microServices(slugs:)` query with
events on (LOOKUP_EVENTS=true) and off, measured in one run.

    .venv/bin/python bench/events_overhead.py [--rounds 5] [--seconds 4] [--connections 8]

Two servers (`python server.py`, one process each, events on and off) run side by side on a
temporary database of their own on BENCH_SERVER_URL (default 127.0.0.1:5432), dropped
afterwards. Rounds alternate on/off so that drift on a shared machine hits both alike; each
round drives one server with keep-alive HTTP/1.1 connections for a fixed time. Prints requests/s
per round, the medians and the overhead. Bounded: rounds x seconds x 2 plus start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from db.migrate import apply_migrations
from db.seed import seed_catalogue
from domain.catalogue import load_catalogue
from loaders.lookup import LookupEvent
from monitoring.events import LookupEventBuffer, event_properties

ROOT = Path(__file__).resolve().parent.parent
SERVER_URL = os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
QUERY = "query Lookup20($slugs: [String!]) { microServices(slugs: $slugs) { id slug } }"


def with_database(url: str, name: str) -> str:
    head, sep, query = url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}{sep}{query}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def temporary_database() -> AsyncIterator[tuple[str, list[str]]]:
    name = f"jw_bench_events_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(SERVER_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(SERVER_URL, name)
    try:
        catalogue = load_catalogue()
        conn = await asyncpg.connect(url)
        try:
            await apply_migrations(conn)
            await seed_catalogue(conn, catalogue)
        finally:
            await conn.close()
        yield url, sorted(catalogue.by_slug)[:20]
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def server(database_url: str, events: bool) -> AsyncIterator[tuple[int, int]]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "LOOKUP_EVENTS": "true" if events else "false",
        # One process each: the CPU read is the server's own, and the two compare like for like.
        "WORKERS": "1",
        "LOG_LEVEL": "warning",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "server.py", "--no-migrate", cwd=ROOT, env=env
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                if time.monotonic() > deadline or process.returncode is not None:
                    raise RuntimeError("the server did not start") from None
                await asyncio.sleep(0.1)
        yield port, process.pid
    finally:
        process.terminate()  # SIGTERM: uvicorn's graceful shutdown, events flushed
        await asyncio.wait_for(process.wait(), 30)


def request_bytes(port: int, slugs: list[str]) -> bytes:
    body = json.dumps({"query": QUERY, "variables": {"slugs": slugs}}).encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def drive(port: int, payload: bytes, connections: int, seconds: float) -> tuple[int, float]:
    """(requests, requests per second) over `seconds`, from `connections` keep-alive
    connections, each sending its next request when the previous answer is in."""
    done = 0
    stop_at = time.monotonic() + seconds

    async def one_connection() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.monotonic() < stop_at:
                writer.write(payload)
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(head.decode(errors="replace"))
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                if b'"errors"' in body:
                    raise RuntimeError(body.decode())
                done += 1
        finally:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    return done, done / (time.monotonic() - started)


def logging_cpu_per_request(slugs: list[str], repeat: int = 2000) -> float:
    """Seconds of CPU that event logging adds to one 20-slug request: the request path's
    append, plus the writer's serialisation of the 20 rows (COPY itself runs in PostgreSQL)."""
    buffer = LookupEventBuffer(
        None,  # type: ignore[arg-type]  # no writer is started: only the in-process work is timed
        capacity=repeat * len(slugs),
    )
    events = [LookupEvent(slug, uuid.uuid4(), 0.3, True, True, False, None) for slug in slugs]
    started = time.process_time()
    for _ in range(repeat):
        buffer.on_lookups(events)
        for event in events:
            event_properties(event)
    return (time.process_time() - started) / repeat


async def main(rounds: int, seconds: float, connections: int) -> None:
    async with (
        temporary_database() as (url, slugs),
        server(url, events=True) as (port_on, pid_on),
        server(url, events=False) as (port_off, pid_off),
    ):
        payload = {p: request_bytes(p, slugs) for p in (port_on, port_off)}
        for port in (port_on, port_off):  # warm-up: connections, caches, code paths
            await drive(port, payload[port], connections, 1.0)
        results: dict[bool, list[float]] = {True: [], False: []}
        # Server CPU per request: much less sensitive than throughput to whatever else the
        # machine is running, since it counts only the server process's own time.
        cpu: dict[bool, list[float]] = {True: [], False: []}
        for i in range(rounds):
            # Alternate which goes first, so neither always follows the other's writes.
            order = (True, False) if i % 2 == 0 else (False, True)
            for events in order:
                port, pid = (port_on, pid_on) if events else (port_off, pid_off)
                cpu_before = cpu_seconds(pid)
                count, rate = await drive(port, payload[port], connections, seconds)
                per_request = (cpu_seconds(pid) - cpu_before) / count
                results[events].append(rate)
                cpu[events].append(per_request)
                print(
                    f"round {i + 1} events {'on ' if events else 'off'}: {rate:8.1f} req/s, "
                    f"server CPU {per_request * 1e6:6.0f} us/request"
                )
        conn = await asyncpg.connect(url)
        try:
            written = await conn.fetchval("SELECT count(*) FROM analytics_events")
        finally:
            await conn.close()
    on, off = statistics.median(results[True]), statistics.median(results[False])
    print(f"median events on : {on:8.1f} req/s ({on * 20:,.0f} lookups/s)")
    print(f"median events off: {off:8.1f} req/s")
    print(f"throughput overhead: {(off - on) / off * 100:+.1f} % (goal < 5 %)")
    cpu_on, cpu_off = statistics.median(cpu[True]), statistics.median(cpu[False])
    print(
        f"median server CPU per request: on {cpu_on * 1e6:.0f} us, off {cpu_off * 1e6:.0f} us: "
        f"{(cpu_on - cpu_off) / cpu_off * 100:+.1f} % (the throughput cost on a CPU-bound server)"
    )
    print(f"events written by the 'on' server: {written:,}")
    logging_cpu = logging_cpu_per_request(slugs)
    print(
        f"logging CPU per 20-slug request: {logging_cpu * 1e6:.0f} us = "
        f"{logging_cpu * off * 100:.2f} % of the "
        f"server's time per request at {off:.0f} req/s (one process)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.seconds, args.connections))
