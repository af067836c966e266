"""Soak: `python server.py` under steady mixed traffic for a while, watched every 10 s.

    .venv/bin/python -m bench.soak [--minutes 10] [--rate 50] [--workers 1]

The traffic, at a steady rate of requests per second: lookups with variables, service searches
(customer phrasings, half of them made unique so that the caches keyed by text keep turning
over), lookups with the slug pasted into the text (a new document every time), aliased lookups,
the wizard, publishJob with idempotency keys, invalid documents, junk and over-long slugs, and
bad API keys. Every
10 s it prints the server's RSS (the parent and its workers), open files, the pool's connections
in use, the interval's requests, p99 and status codes.

It fails (exit 1) when RSS grows more than 10 % after the first 2 minutes (the baseline is the
first sample at or after 2 minutes, or a third of the run when that is shorter), or when any
5xx other than 503 is answered. The server and its database (a temporary one on
127.0.0.1:5432, dropped afterwards) are its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.database import create_seeded, drop
from bench.events_overhead import SERVER_URL
from bench.processes import free_port, process_tree, rss_kb
from config import ROOT
from tests.support import with_database
from tests.support.jobs import PUBLISH, publish_input

SAMPLE_SECONDS = 10.0
RSS_GROWTH_LIMIT = 0.10
WARM_UP_SECONDS = 120.0

LOOKUP = "query One($s: String!) { microService(slug: $s) { id slug name } }"
WIZARD = "query W($p: [String!]!) { wizardQuestions(categories: $p) { microId microUuid } }"
SEARCH = "query S($t: String!) { searchServices(text: $t) { microService { slug } score path } }"


@dataclass
class Interval:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)


def rss_mb(root: int) -> float:
    return rss_kb(root) / 1024


def open_files(root: int) -> int:
    count = 0
    for pid in process_tree(root):
        with contextlib.suppress(OSError):
            count += len(os.listdir(f"/proc/{pid}/fd"))
    return count


def p99(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


class Traffic:
    def __init__(self, slugs: list[str], key: str) -> None:
        from tests.search.test_quality import eval_rows

        self.slugs = slugs
        self.auth = {"Authorization": f"Bearer {key}"}
        self.phrasings = [row.text for row in eval_rows()]

    def next(self) -> tuple[str, dict[str, Any], dict[str, str]]:
        """(kind, JSON body, headers) of one request, drawn from the mix."""
        roll = random.random()
        slug = random.choice(self.slugs)
        if roll < 0.30:
            return "variables", {"query": LOOKUP, "variables": {"s": slug}}, self.auth
        if roll < 0.40:
            text = random.choice(self.phrasings)
            if random.random() < 0.5:
                text += f" {uuid.uuid4().hex[:6]}"  # a text no cache has seen
            return "search", {"query": SEARCH, "variables": {"t": text}}, self.auth
        if roll < 0.48:
            query = f'{{ microService(slug: "{slug}") {{ id }} }}'
            return "literal", {"query": query + f" # {uuid.uuid4().hex}"}, self.auth
        if roll < 0.54:
            fields = " ".join(
                f'a{i}: microService(slug: "{random.choice(self.slugs)}") {{ id }}'
                for i in range(20)
            )
            return "aliased", {"query": f"{{ {fields} }}"}, self.auth
        if roll < 0.65:
            path = ["painting", "interior", "wall-painting"]
            return "wizard", {"query": WIZARD, "variables": {"p": path}}, self.auth
        if roll < 0.75:
            variables = publish_input(uuid.uuid4().hex)
            return "publish", {"query": PUBLISH, "variables": variables}, self.auth
        if roll < 0.82:
            return "invalid", {"query": "{ microService(slug: ) { id "}, self.auth
        if roll < 0.92:
            junk = uuid.uuid4().hex * random.choice([1, 2, 8])  # 32 to 256 characters
            return "junk-slug", {"query": LOOKUP, "variables": {"s": junk}}, {}
        bad = {"Authorization": f"Bearer jw_{uuid.uuid4().hex}"}
        return "bad-key", {"query": LOOKUP, "variables": {"s": slug}}, bad


async def drive(
    base: str, traffic: Traffic, rate: float, seconds: float, server_pid: int, pool_of: Any
) -> tuple[list[dict[str, Any]], Counter[int]]:
    samples: list[dict[str, Any]] = []
    totals: Counter[int] = Counter()
    interval = Interval()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        pending: set[asyncio.Task[None]] = set()

        async def one() -> None:
            kind, body, headers = traffic.next()
            started = time.perf_counter()
            try:
                response = await client.post("/graphql", json=body, headers=headers)
                status = response.status_code
            except httpx.HTTPError:
                status = 0  # transport failure: counted apart from HTTP statuses
            interval.latencies.append(time.perf_counter() - started)
            interval.statuses[status] += 1
            interval.kinds[kind] += 1

        started = time.monotonic()
        next_sample = started + SAMPLE_SECONDS
        sent = 0
        print(
            f"{'t (s)':>6} {'RSS MB':>8} {'files':>6} {'pool':>7} {'reqs':>6} {'p99 ms':>8}  "
            "statuses"
        )
        while (now := time.monotonic()) - started < seconds:
            due = int((now - started) * rate) - sent
            for _ in range(max(due, 0)):
                if len(pending) < 256:  # a stuck server must not grow the client without end
                    task = asyncio.create_task(one())
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                sent += 1
            if now >= next_sample:
                pool = await pool_of(client)
                sample = {
                    "t": round(now - started),
                    "rss_mb": rss_mb(server_pid),
                    "open_files": open_files(server_pid),
                    "pool": pool,
                    "requests": sum(interval.statuses.values()),
                    "p99_ms": p99(interval.latencies),
                    "statuses": dict(interval.statuses),
                }
                samples.append(sample)
                totals.update(interval.statuses)
                print(
                    f"{sample['t']:>6} {sample['rss_mb']:>8.1f} {sample['open_files']:>6} "
                    f"{pool:>7} {sample['requests']:>6} {sample['p99_ms']:>8.1f}  "
                    f"{dict(sorted(interval.statuses.items()))}",
                    flush=True,
                )
                interval = Interval()
                next_sample += SAMPLE_SECONDS
            await asyncio.sleep(0.005)
        await asyncio.gather(*pending, return_exceptions=True)
        totals.update(interval.statuses)
    return samples, totals


async def pool_usage(client: httpx.AsyncClient) -> str:
    try:
        health = (await client.get("/health", timeout=5)).json()
        pool = health["pool"]
        return f"{pool['size'] - pool['idle']}/{pool['max']}"
    except (httpx.HTTPError, KeyError, ValueError):
        return "?"


def verdict(samples: list[dict[str, Any]], totals: Counter[int], seconds: float) -> list[str]:
    failures: list[str] = []
    warm_up = min(WARM_UP_SECONDS, seconds / 3)
    after = [s for s in samples if s["t"] >= warm_up]
    if len(after) >= 2:
        base, last = after[0]["rss_mb"], max(s["rss_mb"] for s in after[1:])
        growth = (last - base) / base
        print(f"RSS after warm-up: {base:.1f} MB -> peak {last:.1f} MB ({growth:+.1%})")
        if growth > RSS_GROWTH_LIMIT:
            failures.append(f"RSS grew {growth:.1%} after the first {warm_up:.0f} s")
    bad = {status: n for status, n in totals.items() if status >= 500 and status != 503}
    if bad:
        failures.append(f"5xx answers other than 503: {bad}")
    if totals.get(0):
        failures.append(f"{totals[0]} requests failed at the transport level")
    return failures


def start_server(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "server.py"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


async def main(minutes: float, rate: float, workers: int) -> int:
    name, slugs, key = await create_seeded(SERVER_URL, services=0)
    database_url = with_database(SERVER_URL, name)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WORKERS": str(workers),
        "LOG_LEVEL": "warning",
        "GRAPHIQL": "false",
    }
    log = Path(os.environ.get("SOAK_LOG", "/tmp/jobwizard-soak.log"))
    process = start_server(env, log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(base_url=base) as client:
            while True:
                try:
                    if (await client.get("/health", timeout=2)).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    print(f"the server did not start; see {log}", file=sys.stderr)
                    return 2
                await asyncio.sleep(0.3)
        seconds = minutes * 60
        print(f"soak: {minutes:g} min at {rate:g} requests/s, {workers} worker(s); log {log}")
        samples, totals = await drive(
            base, Traffic(slugs, key), rate, seconds, process.pid, pool_usage
        )
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        await drop(SERVER_URL, [name])
    print(f"statuses over the run: {dict(sorted(totals.items()))}")
    failures = verdict(samples, totals, seconds)
    for failure in failures:
        print(f"FAIL: {failure}")
    if not failures:
        print("PASS")
    return 1 if failures else 0


def cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long (default 10)")
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    args = parser.parse_args()
    if not 0.1 <= args.minutes <= 24 * 60:
        parser.error("--minutes must be between 0.1 and 1440")
    if not 1 <= args.rate <= 10_000:
        parser.error("--rate must be between 1 and 10000")
    return asyncio.run(main(args.minutes, args.rate, args.workers))


if __name__ == "__main__":
    sys.exit(cli())
