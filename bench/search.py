"""Service search benchmark: quality on the evaluation set, latency under concurrent clients,
model load time and the memory the engine adds.

    .venv/bin/python -m bench.search [--clients 8] [--searches 800] [--workers 2]

Quality: top-1 and top-3 hit rates over tests/data/search_eval.tsv (rows whose services are in
the catalogue), all rows and the held-out fifth apart. Latency: `--clients` asyncio clients each
send searches back to back through `SearchEngine.search` (the path a resolver takes), texts
drawn from the evaluation set, each client yielding to the event loop between searches as a
request read from a socket would; measured with the query-vector cache off (every search runs
the model unless the lexical ranking is decisive), without and with the model budget, and with
the cache warm. Under load the answers are scored too (top-1 on the texts searched), since a
search the model was too late for is answered from keywords alone. No database, no network.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _latencies(
    engine: object, rows: list[Any], clients: int, searches: int
) -> tuple[list[float], float, float]:
    """Each search's seconds, the share whose first answer was acceptable, and the share that
    keywords answered because the model was late."""
    from search import SearchEngine
    from search.engine import MODEL_LATE

    assert isinstance(engine, SearchEngine)
    latencies: list[float] = []
    hits = late = 0
    per_client = searches // clients

    async def client(offset: int) -> None:
        nonlocal hits, late
        for i in range(per_client):
            row = rows[(offset * per_client + i) % len(rows)]
            started = time.perf_counter()
            matches = await engine.search(row.text, 5)
            latencies.append(time.perf_counter() - started)
            hits += bool(matches) and matches[0].slug in row.acceptable
            late += matches.answered_by == MODEL_LATE
            # The next request arrives as a new event, as one read from a socket would.
            await asyncio.sleep(0)

    await asyncio.gather(*(client(c) for c in range(clients)))
    return latencies, hits / max(len(latencies), 1), late / max(len(latencies), 1)


def _describe(name: str, latencies: list[float]) -> str:
    ms = sorted(x * 1000 for x in latencies)
    p = statistics.quantiles(ms, n=100)
    return f"{name}: {len(ms)} searches, p50 {p[49]:.1f} ms, p95 {p[94]:.1f} ms, p99 {p[98]:.1f} ms"


def memory_probe(cache: str) -> None:
    """In a fresh process: what start-up with the model's rewrite and the vectors on disk adds,
    then one search."""
    baseline = rss_mb()
    started = time.perf_counter()
    from search.encoder import Encoder

    imported = rss_mb()
    encoder = Encoder(cache_dir=Path(cache))
    load_seconds = time.perf_counter() - started
    model = rss_mb() - imported
    from config.database import DEFAULT_CATALOGUE_PATH
    from domain.catalogue import load_catalogue
    from search import build_engine, load_keywords

    catalogue = load_catalogue(DEFAULT_CATALOGUE_PATH)
    engine = build_engine(
        catalogue, load_keywords(catalogue), encoder=encoder, cache_dir=Path(cache)
    )
    engine.rank("my boiler keeps losing pressure", 5)
    print(f"{load_seconds:.3f} {model:.1f} {rss_mb() - baseline:.1f}")


def main(clients: int, searches: int, workers: int) -> None:
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    cache = tempfile.mkdtemp(prefix="jw-bench-search-")
    try:
        run(Path(cache), clients, searches, workers)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def run(cache: Path, clients: int, searches: int, workers: int) -> None:
    from config import Settings
    from config.database import DEFAULT_CATALOGUE_PATH
    from domain.catalogue import load_catalogue
    from search import build_engine, load_keywords
    from search.encoder import Encoder
    from tests.search.test_quality import eval_rows, hit_rates

    started = time.perf_counter()
    encoder = Encoder(cache_dir=cache)  # the first start: the model is rewritten for int8
    rewrite = time.perf_counter() - started
    catalogue = load_catalogue(DEFAULT_CATALOGUE_PATH)
    keywords = load_keywords(catalogue)
    started = time.perf_counter()
    build_engine(catalogue, keywords, encoder=encoder, cache_dir=cache).close()
    cold_build = time.perf_counter() - started
    probe = subprocess.run(
        [sys.executable, "-m", "bench.search", "--memory-probe", str(cache)],
        capture_output=True,
        text=True,
        check=True,
    )
    load_seconds, model, added = (float(x) for x in probe.stdout.split())
    started = time.perf_counter()
    engine = build_engine(catalogue, keywords, encoder=encoder, cache_dir=cache)
    warm_build = time.perf_counter() - started
    print(
        f"first start: model rewritten for int8 and loaded in {rewrite:.1f} s; "
        f"model load {load_seconds:.2f} s (imports included); memory added: model {model:.0f} MB,"
        f" all of search (imports, model, vectors, one search) {added:.0f} MB RSS;"
        f" service vectors computed in {cold_build:.1f} s, "
        f"read from the disk cache in {warm_build:.2f} s"
    )

    slugs = {service.slug for service in catalogue.micro_services()}
    rows = [row for row in eval_rows() if row.acceptable & slugs]
    for label, subset in (("all", rows), ("held out", [r for r in rows if r.held_out])):
        top1, top3, n = hit_rates(engine, subset)
        print(f"quality, {label} ({n} phrasings): top-1 {top1:.3f}, top-3 {top3:.3f}")
    engine.close()

    budget = Settings().search_model_budget_ms / 1000
    for label, model_budget, cache_size in (
        ("no query cache, no model budget", None, 0),
        (f"no query cache, model budget {budget * 1000:g} ms", budget, 0),
        (f"query cache warm, model budget {budget * 1000:g} ms", budget, 4096),
    ):
        engine = build_engine(
            catalogue,
            keywords,
            encoder=encoder,
            cache_dir=cache,
            query_cache_size=cache_size,
            max_concurrent_inferences=workers,
            model_budget=model_budget,
        )
        if cache_size:
            asyncio.run(_latencies(engine, rows, 1, len(rows)))  # every text seen once
        cpu = time.process_time()
        latencies, top1, late = asyncio.run(_latencies(engine, rows, clients, searches))
        cpu_ms = (time.process_time() - cpu) * 1000 / len(latencies)
        print(
            _describe(f"{clients} clients, {label}", latencies)
            + f"; CPU {cpu_ms:.2f} ms per search; top-1 {top1:.3f}; on keywords alone as the "
            f"model was late: {late:.1%}"
        )
        engine.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--searches", type=int, default=800)
    parser.add_argument(
        "--workers", type=int, default=1, help="concurrent inferences (SEARCH_INFERENCE_THREADS)"
    )
    parser.add_argument("--memory-probe", metavar="CACHE_DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_probe:
        memory_probe(args.memory_probe)
    else:
        main(args.clients, args.searches, args.workers)
