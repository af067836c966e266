"""The ratios of issue goals that compare this server with itself, counted in CPU instructions:
a lookup with its slug written into the query text against the same lookup by variables, and
rate limits on against off, for one lookup, 20 aliased lookups and the literal query.

    .venv/bin/python -m bench.request_instructions [--requests 600]

Why instructions: on a shared 2-core machine a process's speed drifts by more than these
ratios' margins between two rounds of `make bench`, where an instruction count is the same
from run to run whatever else the machine does. The throughput ratio of two requests that
spend their time on the server's CPU is the inverse ratio of their instructions.

Two servers (`python server.py --no-migrate`, one process, default settings but for the rate
limits and the semantic search, which is not on a lookup's path and would take minutes to
build under valgrind), each run under valgrind's callgrind on one seeded database, dropped
afterwards. Per scenario: every request body is sent once to warm the caches (each slug's
lookup, and for the literal query the second document of its signature, which teaches the
lifted form), then counting is switched on for exactly `--requests` requests over 4
keep-alive connections and off again. The rate limits' reading of the shared counters is
renewed on a timer (RATE_LIMIT_SYNC_SECONDS, a tenth of a second by default): under valgrind
the server runs some 50 times slower, so the interval is stretched as much, and a reading is
renewed about as often per request as at full speed (the rate under valgrind is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Sequence
from itertools import cycle
from pathlib import Path

from bench.database import create_seeded, drop
from bench.events_instructions import counted, require_callgrind, start_under_callgrind
from bench.events_overhead import read_response, wait_until_listening
from bench.processes import free_port
from bench.scenarios import ALIASES, SERVICE_FIELDS, literal_body
from tests.support import with_database

SERVER_URL = os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SERVICES = 2000
CONNECTIONS = 4
# The rate limits' default interval between readings, times valgrind's slowdown.
SYNC_SECONDS_UNDER_VALGRIND = "5"
ONE = f"query One($slug: String!) {{ microService(slug: $slug) {{ {SERVICE_FIELDS} }} }}"
# Goals these ratios are held to (issue: performance round three).
LITERAL_GOAL = 0.9
LIMITS_GOAL = 0.9


def scenario_bodies(slugs: list[str]) -> dict[str, list[str]]:
    """Per scenario, the request bodies it sends in turn: a lookup of each slug by variables,
    the same written into the query text, and 20 aliased lookups."""
    twenty = slugs[:ALIASES]
    params = ", ".join(f"$s{i}: String!" for i in range(ALIASES))
    selections = " ".join(
        f"m{i}: microService(slug: $s{i}) {{ {SERVICE_FIELDS} }}" for i in range(ALIASES)
    )
    aliased = json.dumps(
        {
            "query": f"query Aliased({params}) {{ {selections} }}",
            "variables": {f"s{i}": slug for i, slug in enumerate(twenty)},
        }
    )
    return {
        "one": [json.dumps({"query": ONE, "variables": {"slug": slug}}) for slug in slugs],
        "literal": [literal_body(f"microService|{SERVICE_FIELDS}", slug) for slug in slugs],
        "aliased": [aliased],
    }


def http_request(port: int, body: str, key: str) -> bytes:
    data = body.encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
        f"content-type: application/json\r\nauthorization: Bearer {key}\r\n"
        f"content-length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


async def send(port: int, payloads: Sequence[bytes], count: int) -> None:
    """`count` requests, the payloads in turn, over keep-alive connections, each answered (with
    a non-null lookup) before the connection sends its next."""
    turn = cycle(payloads)
    shares = [count // CONNECTIONS + (i < count % CONNECTIONS) for i in range(CONNECTIONS)]

    async def one_connection(requests: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for _ in range(requests):
                writer.write(next(turn))
                body = await read_response(reader)
                if b'"errors"' in body or b":null" in body:
                    raise RuntimeError(body.decode())
        finally:
            writer.close()

    await asyncio.gather(*(one_connection(n) for n in shares))


async def measure(
    url: str, key: str, bodies: dict[str, list[str]], limits: bool, requests: int, out: Path
) -> dict[str, float]:
    """Instructions per request of each scenario on one server, rate limits on or off."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PORT": str(port),
        "WORKERS": "1",
        "RATE_LIMITS": "true" if limits else "false",
        "RATE_LIMIT_SYNC_SECONDS": SYNC_SECONDS_UNDER_VALGRIND,
        "SEARCH_SEMANTIC": "false",
        "GRAPHIQL": "false",
        "OIDC_DEV_PORT": "0",
    }
    process = await start_under_callgrind(env, out)
    seen: set[Path] = set()
    per_request: dict[str, float] = {}
    try:
        await wait_until_listening(port, process, within=180)  # valgrind starts slowly
        for name, texts in bodies.items():
            payloads = [http_request(port, text, key) for text in texts]
            await send(port, payloads, len(payloads) + 2 * CONNECTIONS)
            total, seconds = await counted(process.pid, out, seen, send(port, payloads, requests))
            per_request[name] = total / requests
            state = "on " if limits else "off"
            print(f"  limits {state} {name:<8} {requests / seconds:6.1f} req/s under valgrind")
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 60)
    return per_request


async def main(requests: int) -> None:
    require_callgrind()
    name, slugs, key = await create_seeded(SERVER_URL, SERVICES)
    try:
        bodies = scenario_bodies(slugs)
        url = with_database(SERVER_URL, name)
        with tempfile.TemporaryDirectory(prefix="jw-callgrind-") as tmp:
            off = await measure(url, key, bodies, False, requests, Path(tmp))
            on = await measure(url, key, bodies, True, requests, Path(tmp))
    finally:
        await drop(SERVER_URL, [name])
    print(f"\nInstructions per request, {requests} requests each ({SERVICES} micro services)")
    print("| request | rate limits off | rate limits on | on x off (throughput) |")
    print("| --- | ---: | ---: | ---: |")
    for scenario in bodies:
        ratio = off[scenario] / on[scenario]
        print(f"| {scenario} | {off[scenario]:,.0f} | {on[scenario]:,.0f} | {ratio:.3f} |")
    literal = off["one"] / off["literal"]
    print("\n| goal | this run | target | met |\n| --- | --- | --- | --- |")
    rows = [("literal query x our variables", literal, LITERAL_GOAL)]
    rows += [(f"{s}: rate limits on x off", off[s] / on[s], LIMITS_GOAL) for s in bodies]
    for goal, figure, target in rows:
        met = "yes" if figure >= target else "**no**"
        print(f"| {goal} | {figure:.3f} x | >= {target} x | {met} |")
    print(
        f"\nCommand: `python -m bench.request_instructions --requests {requests}`, "
        f"{time.strftime('%F %H:%M %Z')} (instructions do not depend on the machine's load)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=600)
    args = parser.parse_args()
    asyncio.run(main(args.requests))
