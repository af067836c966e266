"""PostgreSQL outage under load: what clients get, how fast, and how soon service returns.

    .venv/bin/python -m bench.lookup_outage [--clients 20] [--healthy 3] [--outage 5]

Runs the real app in-process on a throw-away database of the local PostgreSQL, reached through
a TCP proxy (tests/proxy.py) that is made to refuse connections for the outage phase: the
shared server itself is never stopped. Load: `--clients` concurrent clients, each looping over
wizardQuestions (cached slug), microService (a never-seen slug: always a database lookup) and
publishJob. Prints, per phase, the outcome counts and latency percentiles, and the time from
the database's return to the first successful uncached lookup (the breaker closing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections import Counter, defaultdict
from typing import Any

import asyncpg
import httpx
from asgi_lifespan import LifespanManager

from app.root import create_app
from config import Settings
from config.database import DEFAULT_CATALOGUE_PATH
from db.migrate import apply_migrations
from db.seed import seed_catalogue
from domain.catalogue import load_catalogue
from tests.support import create_database, drop_database, with_database
from tests.support.jobs import EXAMPLE_LOCATION, WALL_PAINTING_ANSWERS
from tests.support.keys import issue_api_key
from tests.support.proxy import proxy_to

SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
WIZARD = 'query { wizardQuestions(categories: ["wall-painting"]) { microUuid degraded } }'
LOOKUP = "query($s: String!) { microService(slug: $s) { id } }"
PUBLISH = "mutation($i: PublishJobInput!) { publishJob(input: $i) { degraded job { id } } }"


def outcome(kind: str, status: int, body: dict[str, Any]) -> str:
    if "Traceback" in str(body):
        return f"{kind}:STACK_TRACE"
    errors = body.get("errors") or []
    if errors:
        return f"{kind}:{errors[0].get('extensions', {}).get('code')}"
    data = body.get("data") or {}
    if kind == "wizard" and data["wizardQuestions"]["degraded"]:
        return "wizard:degraded"
    if kind == "publish" and data["publishJob"]["degraded"]:
        return "publish:slug-only"
    return f"{kind}:ok"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--healthy", type=float, default=3.0)
    parser.add_argument("--outage", type=float, default=5.0)
    parser.add_argument("--reset", type=float, default=5.0, help="BREAKER_RESET_SECONDS")
    args = parser.parse_args()

    name = await create_database(SERVER, prefix="jw_bench")
    url = with_database(SERVER, name)
    conn = await asyncpg.connect(url)
    await apply_migrations(conn)
    await seed_catalogue(conn, load_catalogue(DEFAULT_CATALOGUE_PATH))
    key = await issue_api_key(conn, name="outage drill", scopes=["jobs:write"])
    await conn.close()
    phase = "healthy"
    samples: dict[str, list[float]] = defaultdict(list)
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    stop = asyncio.Event()
    try:
        async with proxy_to(url) as proxy:
            settings = Settings.from_env({}).replace(
                migrate_on_start=False,
                seed_on_start=False,
                breaker_reset_seconds=args.reset,
                rate_limits=False,  # the drill's clients would exhaust one caller's budget
            )
            app = create_app(settings, database_url=proxy.url_for(url))
            async with LifespanManager(app) as manager:
                transport = httpx.ASGITransport(app=manager.app)
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://b", headers=key.headers
                ) as client:

                    async def one(kind: str, query: str, variables: dict[str, Any]) -> None:
                        started = time.perf_counter()
                        response = await client.post(
                            "/graphql", json={"query": query, "variables": variables}
                        )
                        samples[phase].append(time.perf_counter() - started)
                        outcomes[phase][outcome(kind, response.status_code, response.json())] += 1

                    async def worker() -> None:
                        while not stop.is_set():
                            await one("wizard", WIZARD, {})
                            await one("lookup", LOOKUP, {"s": f"nope-{uuid.uuid4().hex[:8]}"})
                            await one(
                                "publish",
                                PUBLISH,
                                {
                                    "i": {
                                        "microId": "wall-painting",
                                        "answers": WALL_PAINTING_ANSWERS,
                                        "location": EXAMPLE_LOCATION,
                                    }
                                },
                            )

                    workers = [asyncio.create_task(worker()) for _ in range(args.clients)]
                    await asyncio.sleep(args.healthy)
                    phase = "outage"
                    await proxy.refuse()
                    await asyncio.sleep(args.outage)
                    phase = "recovery"
                    await proxy.restore()
                    back = time.perf_counter()
                    services = manager._state["app_state"]
                    while services.lookup.breaker_state != "closed":  # noqa: ASYNC110  # polled state
                        await asyncio.sleep(0.01)
                    recovered = time.perf_counter() - back
                    await asyncio.sleep(1.0)
                    stop.set()
                    await asyncio.gather(*workers)
    finally:
        await drop_database(SERVER, name)

    for name_ in ("healthy", "outage", "recovery"):
        times = sorted(samples[name_])
        if not times:
            continue
        p50 = statistics.median(times) * 1000
        p99 = times[int(len(times) * 0.99) - 1] * 1000
        print(
            f"{name_:9} n={len(times):5}  p50={p50:6.1f} ms  p99={p99:6.1f} ms  "
            f"max={times[-1] * 1000:6.1f} ms"
        )
        for outcome_, count in sorted(outcomes[name_].items()):
            print(f"            {outcome_:28} {count}")
    print(f"breaker closed {recovered:.2f} s after the database returned (reset {args.reset} s)")


if __name__ == "__main__":
    asyncio.run(main())
