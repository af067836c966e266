"""What lookup-event logging costs: throughput of the 20-slug `microServices(slugs:)` query with
events on (LOOKUP_EVENTS=true) and off, measured in one run.

    .venv/bin/python -m bench.events_overhead [--rounds 16] [--seconds 2] [--connections 8]
                                              [--shared]

Two servers (`python server.py`, one process each, events on and off) run side by side on a
temporary database of their own on BENCH_SERVER_URL (default 127.0.0.1:5432), dropped
afterwards. Each round drives both servers in turn (alternating which goes first) with
keep-alive HTTP/1.1 connections for a fixed time. On this shared machine a process's speed
drifts widely over seconds, the same for both servers of a round: so the overhead is the
median over rounds of each round's own on/off ratio, from many short rounds. Prints requests/s
per round, the overhead in throughput and in server CPU per request, PostgreSQL's CPU per
request, and checks that every lookup of the "on" server was stored. Bounded: rounds x seconds
x 2 plus start-up.

Where the API server meets its database. In production PostgreSQL has cores of its own; on a
2-core bench machine it shares them with the server and the load generator, and storing 20
events a request (~15 us of PostgreSQL CPU each) would then be charged to the server's
throughput. So by default the servers are pinned to CPU 0, and the load generator and the
bench database's PostgreSQL backends to CPU 1: the throughput is then the server's own. With
`--shared` nothing is pinned and everything competes for both cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from bench.database import create_seeded, drop
from bench.events_synthetic import (
    OTHERS_CPU,
    SERVER_CPU,
    logging_cpu_per_request,
    pin,
    pinning_possible,
    synthetic_writer,
)
from bench.processes import cpu_seconds, free_port
from tests.support import with_database

ROOT = Path(__file__).resolve().parent.parent
SERVER_URL = os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
QUERY = "query Lookup20($slugs: [String!]) { microServices(slugs: $slugs) { id slug } }"


@asynccontextmanager
async def temporary_database() -> AsyncIterator[tuple[str, list[str]]]:
    """A migrated, seeded database of its own (dropped afterwards), and 20 of its slugs."""
    name, slugs, _ = await create_seeded(SERVER_URL, services=0)
    try:
        yield with_database(SERVER_URL, name), slugs[:20]
    finally:
        await drop(SERVER_URL, [name])


def server_env(database_url: str, port: int, events: bool, **extra: str) -> dict[str, str]:
    """The environment of one bench server: one process, logging on or off."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "LOOKUP_EVENTS": "true" if events else "false",
        # One process: the CPU read is the server's own, and servers compare like for like.
        "WORKERS": "1",
        "LOG_LEVEL": "warning",
        "RATE_LIMITS": "false",  # one client at full speed is the point of the bench
        **extra,
    }


async def database_backends(url: str) -> list[int]:
    """The PostgreSQL backends serving the bench database (the servers' pools, the writer)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return [row["pid"] for row in rows]


async def wait_until_listening(
    port: int, process: asyncio.subprocess.Process, within: float
) -> None:
    """Return once `process` accepts connections on `port`; raise if it exits first or
    `within` seconds pass."""
    deadline = time.monotonic() + within
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline or process.returncode is not None:
                raise RuntimeError("the server did not start") from None
            await asyncio.sleep(0.1)


async def read_response(reader: asyncio.StreamReader) -> bytes:
    """The body of one HTTP/1.1 response with a Content-Length; raise unless it is a 200."""
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(head.decode(errors="replace"))
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return await reader.readexactly(length)


@asynccontextmanager
async def server(
    database_url: str, events: bool, cpu: int | None = None
) -> AsyncIterator[tuple[int, int]]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "server.py",
        "--no-migrate",
        cwd=ROOT,
        env=server_env(database_url, port, events),
    )
    if cpu is not None:  # before it starts threads: they inherit the affinity
        pin([process.pid], cpu)
    try:
        await wait_until_listening(port, process, within=30)
        yield port, process.pid
    finally:
        process.terminate()  # SIGTERM: uvicorn's graceful shutdown, events flushed
        await asyncio.wait_for(process.wait(), 30)


async def event_buffer_health(port: int) -> dict[str, int]:
    """The `events` part of the server's /health: buffered, dropped, written, writeErrors."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        events: dict[str, int] = json.loads(await read_response(reader))["events"]
        return events
    finally:
        writer.close()


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
                body = await read_response(reader)
                if b'"errors"' in body:
                    raise RuntimeError(body.decode())
                done += 1
        finally:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    return done, done / (time.monotonic() - started)


async def drive_wrk(
    port: int, body: bytes, connections: int, seconds: float, script_dir: Path
) -> tuple[int, float]:
    """Like `drive`, from wrk (C): it leaves more of its CPU to PostgreSQL, which shares it."""
    script = script_dir / "lookup20.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = [==[{body.decode()}]==]\n"
    )
    process = await asyncio.create_subprocess_exec(
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(round(seconds), 1)}s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}/graphql",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out = (await process.communicate())[0].decode()
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    if process.returncode != 0 or done is None or "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk failed:\n{out}")
    elapsed = float(done.group(2)) / (1000 if done.group(3) == "ms" else 1)
    return int(done.group(1)), int(done.group(1)) / elapsed


def median_ratio(a: list[float], b: list[float]) -> float:
    """The median over rounds of a/b - 1: both halves of a round ran within seconds."""
    return statistics.median(x / y - 1 for x, y in zip(a, b, strict=True))


async def main(rounds: int, seconds: float, connections: int, shared: bool) -> None:
    pinned = not shared and pinning_possible()
    use_wrk = shutil.which("wrk") is not None
    print(f"load generator: {'wrk' if use_wrk else 'Python (install wrk for a lighter one)'}")
    server_cpu = SERVER_CPU if pinned else None
    if pinned:
        pin([os.getpid()], OTHERS_CPU)
    requests_on = 0
    # "on": events on. "off": events off. "control": events off while PostgreSQL stores as
    # many events as "on" logged, from a synthetic writer: what the database's share of
    # logging costs the server when both run on one machine.
    kinds = ("on", "off", "control")
    rate: dict[str, list[float]] = {kind: [] for kind in kinds}
    # CPU per request: less sensitive than throughput to whatever else the machine is
    # running, since it counts only the processes' own time.
    cpu: dict[str, list[float]] = {kind: [] for kind in kinds}
    db_cpu: dict[str, list[float]] = {kind: [] for kind in kinds}
    async with temporary_database() as (url, slugs):
        async with (
            server(url, events=True, cpu=server_cpu) as (port_on, pid_on),
            server(url, events=False, cpu=server_cpu) as (port_off, pid_off),
        ):
            payload = {p: request_bytes(p, slugs) for p in (port_on, port_off)}
            for port in (port_on, port_off):  # warm-up, checking every answer's body
                count, _ = await drive(port, payload[port], connections, 1.0)
                requests_on += count if port == port_on else 0
            body = json.dumps({"query": QUERY, "variables": {"slugs": slugs}}).encode()
            script_dir = Path(tempfile.mkdtemp(prefix="jw-events-"))
            for i in range(rounds):
                # Vary the order, so that none always follows another's writes; "control"
                # copies the latest "on" rate, so it never comes first in the first round.
                order = ("on", "off", "control") if i % 2 == 0 else ("control", "off", "on")
                for kind in order:
                    port, pid = (port_on, pid_on) if kind == "on" else (port_off, pid_off)
                    stop = asyncio.Event()
                    control = None
                    if kind == "control":
                        events_per_second = rate["on"][-1] * len(slugs)
                        control = asyncio.create_task(
                            synthetic_writer(url, slugs, events_per_second, stop, pinned)
                        )
                        await asyncio.sleep(0.2)  # connected and writing
                    backends = await database_backends(url)
                    if pinned:  # the writer may have reconnected since the last round
                        pin(backends, OTHERS_CPU)
                    cpu_before = cpu_seconds(pid)
                    db_before = sum(map(cpu_seconds, backends))
                    if use_wrk:
                        count, per_second = await drive_wrk(
                            port, body, connections, seconds, script_dir
                        )
                    else:
                        count, per_second = await drive(port, payload[port], connections, seconds)
                    per_request = (cpu_seconds(pid) - cpu_before) / count
                    db_per_request = (sum(map(cpu_seconds, backends)) - db_before) / count
                    stop.set()
                    if control is not None:
                        await control
                    requests_on += count if kind == "on" else 0
                    rate[kind].append(per_second)
                    cpu[kind].append(per_request)
                    db_cpu[kind].append(db_per_request)
                    print(
                        f"round {i + 1:2} {kind:7}: {per_second:7.1f} req/s, CPU per request: "
                        f"server {per_request * 1e6:4.0f} us, "
                        f"PostgreSQL {db_per_request * 1e6:4.0f} us"
                    )
            writer = await event_buffer_health(port_on)
            shutil.rmtree(script_dir, ignore_errors=True)
        # The servers have shut down (SIGTERM): the "on" one flushed what it still buffered.
        conn = await asyncpg.connect(url)
        try:
            written = await conn.fetchval(
                "SELECT count(*) FROM analytics_events WHERE event_properties ->> 'slug' = ANY($1)",
                slugs,
            )
        finally:
            await conn.close()
    print(
        "placement: "
        + (
            f"servers on CPU {SERVER_CPU}; load generator and PostgreSQL backends on CPU "
            f"{OTHERS_CPU}"
            if pinned
            else "nothing pinned: server, load generator and PostgreSQL share every core"
        )
    )
    for kind in kinds:
        median = statistics.median(rate[kind])
        print(
            f"median {kind:7}: {median:7.1f} req/s, server CPU "
            f"{statistics.median(cpu[kind]) * 1e6:4.0f} us/request, PostgreSQL "
            f"{statistics.median(db_cpu[kind]) * 1e6:4.0f} us/request"
        )
    on_cost = -median_ratio(rate["on"], rate["off"])
    control_cost = -median_ratio(rate["control"], rate["off"])
    print(f"throughput lost, events on vs off:      {on_cost * 100:5.1f} %")
    print(f"throughput lost, control vs off:        {control_cost * 100:5.1f} %")
    print(
        "  (control: the server logs nothing while PostgreSQL, on the same machine, stores as "
        "many events as 'on' made)"
    )
    own_cost = -median_ratio(rate["on"], rate["control"])
    print(
        f"throughput lost, events on vs control:  {own_cost * 100:5.1f} % "
        "(logging's own cost, the database's share matched; goal < 5 %)"
    )
    cpu_on_cost = median_ratio(cpu["on"], cpu["off"])
    print(f"server CPU per request, on vs off:     {cpu_on_cost * 100:+5.1f} %")
    print(
        f"server CPU per request, control vs off: "
        f"{median_ratio(cpu['control'], cpu['off']) * 100:+5.1f} %"
    )
    stored_cost = statistics.median(db_cpu["on"]) - statistics.median(db_cpu["off"])
    print(f"PostgreSQL CPU to store one event: {stored_cost / len(slugs) * 1e6:.1f} us")
    # The load generator counts answered requests only: those still in flight when it stopped
    # were served and logged too, so at least this many events must be stored.
    expected = requests_on * len(slugs)
    complete = written >= expected and writer["dropped"] == 0
    print(
        f"events stored: {written:,}, for at least {expected:,} lookups made on the 'on' server"
        + ("" if complete else " (MISSING EVENTS)")
        + f"; its buffer after the last round: {writer['buffered']:,} buffered, "
        f"{writer['dropped']:,} dropped, {writer['writeErrors']:,} write errors"
    )
    logging_cpu = logging_cpu_per_request(slugs)
    cpu_off = statistics.median(cpu["off"])
    print(
        f"logging CPU per 20-slug request in the server process (micro-benchmark): "
        f"{logging_cpu * 1e6:.1f} us = {logging_cpu / cpu_off * 100:.1f} % of a request"
    )
    if not complete:
        raise SystemExit(1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--shared", action="store_true", help="pin nothing: PostgreSQL competes with the server"
    )
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.seconds, args.connections, args.shared))
