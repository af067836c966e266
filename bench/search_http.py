"""`searchServices` end to end: HTTP, GraphQL and search, with concurrent clients.

    .venv/bin/python -m bench.search_http [--connections 8] [--duration 10] [--runs 2]

One worker of this server (`server.py serve`, rate limits off) on a fresh database, driven by
wrk (`-t1 -c8`, keep-alive): each request a `searchServices(text:, first: 5)` for a phrasing of
the evaluation set picked at random. Measured on two servers started alike but for their
caches: none (`RESPONSE_CACHE=false SEARCH_QUERY_CACHE_SIZE=0`: every request runs GraphQL and
the search, and every search the keywords do not settle runs the model: the cold case) and the
defaults (after the first few hundred requests the phrasings repeat: the response cache answers
them). Each server is measured only once `/health` says search ranks with the model. Prints
req/s, p50, p99, the server's CPU per request and, from `jobwizard_searches_total`, the share
of searches that keywords answered because the model was late.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench import database
from bench.processes import ROOT, System, cpu_seconds, start, stop, wait_ready
from bench.wrk import parse, wrk
from tests.support import with_database

SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
QUERY = (
    "query Search($text: String!) { searchServices(text: $text, first: 5) "
    "{ microService { slug } score matchedOn } }"
)
PROBE = json.dumps({"query": "{ __typename }"})
MODEL_TIMEOUT = 120.0


def _script(path: Path, texts: list[str]) -> Path:
    bodies = ", ".join(
        "[==[" + json.dumps({"query": QUERY, "variables": {"text": text}}) + "]==]"
        for text in texts
    )
    path.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"local bodies = {{{bodies}}}\n"
        "request = function()\n"
        "  return wrk.format(nil, nil, nil, bodies[math.random(#bodies)])\n"
        "end\n"
    )
    return path


def _searches(system: System) -> dict[str, float]:
    """`jobwizard_searches_total` by `answered_by`, from the server's /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(system.url.replace("/graphql", "/metrics"), timeout=5) as page:
        text = page.read().decode()
    return {
        sample.labels["answered_by"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "jobwizard_searches_total"
    }


def _wait_for_model(system: System) -> None:
    health = system.url.replace("/graphql", "/health")
    deadline = time.monotonic() + MODEL_TIMEOUT
    while time.monotonic() < deadline:
        with urllib.request.urlopen(health, timeout=5) as response:
            if json.load(response).get("search", {}).get("ranking") == "hybrid":
                return
        time.sleep(0.3)
    raise RuntimeError(f"{system.name}: the embedding model did not load in {MODEL_TIMEOUT:.0f} s")


def main(connections: int, duration: float, runs: int) -> None:
    from tests.search.test_quality import eval_rows

    texts = [row.text for row in eval_rows()]
    name, _, _ = asyncio.run(database.create_seeded(SERVER_URL, 0))
    serve = [sys.executable, "server.py", "serve", "--no-migrate"]
    common = {
        "DATABASE_URL": with_database(SERVER_URL, name),
        "WORKERS": "1",
        "LOG_LEVEL": "warning",
        "GRAPHIQL": "false",
        "RATE_LIMITS": "false",
    }
    systems = [
        System(
            "none (cold)",
            serve,
            {**common, "RESPONSE_CACHE": "false", "SEARCH_QUERY_CACHE_SIZE": "0"},
        ),
        System("defaults (response cache, query-vector cache)", serve, dict(common)),
    ]
    results: dict[str, list[tuple[float, float, float, float, float]]] = {
        s.name: [] for s in systems
    }
    with tempfile.TemporaryDirectory(prefix="jw-bench-search-http-") as scratch:
        script = _script(Path(scratch) / "search.lua", texts)
        try:
            for _ in range(runs):
                for system in systems:
                    start(system, Path(scratch))
                    try:
                        wait_ready(system, PROBE)
                        _wait_for_model(system)
                        assert system.process is not None
                        cpu = cpu_seconds(system.process.pid)
                        counted = _searches(system)
                        requests, seconds, out = wrk(system.url, script, duration, connections)
                        used = cpu_seconds(system.process.pid) - cpu
                        moved = {
                            kind: total - counted.get(kind, 0.0)
                            for kind, total in _searches(system).items()
                        }
                        late = moved.get("model_late", 0.0) / max(sum(moved.values()), 1.0)
                        run = parse(system.name, "search", requests, seconds, out)
                        if run.bad:
                            raise RuntimeError(f"{system.name}: {run.bad} failed requests")
                        per_request = used * 1000 / max(requests, 1)
                        results[system.name].append(
                            (run.rps, run.p50_ms, run.p99_ms, per_request, late)
                        )
                    finally:
                        stop(system)
        finally:
            asyncio.run(database.drop(SERVER_URL, [name]))
    print(
        f"searchServices over HTTP, wrk -t1 -c{connections}, {runs} x {duration:g} s, one worker, "
        f"{len(texts)} phrasings at random"
    )
    print(
        "| caches | req/s | p50 ms | p99 ms | server CPU ms/req "
        "| searches on keywords as the model was late |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, rows in results.items():
        rps, p50, p99, cpu_ms, late = (
            statistics.median(column) for column in zip(*rows, strict=True)
        )
        spread = ", ".join(f"{row[2]:.1f}" for row in rows)
        print(
            f"| {label} | {rps:,.0f} | {p50:.2f} | {p99:.2f} (runs: {spread}) | {cpu_ms:.3f} "
            f"| {late:.1%} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=2)
    arguments = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    main(arguments.connections, arguments.duration, arguments.runs)
