"""The table `bench.run` prints: every system's figures per operation, the ratios to the other
systems, the goals met or not, and memory."""

from __future__ import annotations

import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from bench.processes import RunResult, System
from bench.scenarios import BASELINE, FLOOR, OURS, POSTGRAPHILE, Scenario

# The goals the cached operations and publishJob are held to (see docs/benchmarks.md).
FLOOR_SHARE_GOAL = 0.5
P99_GOAL_MS = 20.0
PUBLISH_GOAL = 1.5  # x the publishJob req/s recorded before API keys were cached
# Bench-only variant (run when named in BENCH_SYSTEMS): our server as it was when publishJob's
# goal was set (every API key checked in the database, the mutation through graphql-core): the
# same run's reference for publishJob.
BEFORE = "ours-before"


class Run(Protocol):
    """What the table reads of a finished run."""

    results: list[RunResult]
    systems: dict[str, System]
    connections: int
    runs: int
    duration: float
    services: int
    publish_reference: float


def table(bench: Run, plan: list[Scenario], started: float) -> str:
    """The dated Markdown table of a run, its goal lines and its notes."""

    def mean(system: str, scenario: str, attr: str) -> float | None:
        values = [
            getattr(r, attr)
            for r in bench.results
            if r.system == system and r.scenario == scenario
            and getattr(r, attr) is not None
        ]  # fmt: skip
        return statistics.fmean(values) if values else None

    cpu = _cpu_model()
    lines = [
        f"\n## Bench {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {os.cpu_count()} cores ({cpu}),"
        f" PostgreSQL on loopback, wrk -t1 -c{bench.connections}, {bench.runs} x "
        f"{bench.duration:g} s per cell, {bench.services} micro services\n",
        "| operation | system | req/s | p50 ms | p99 ms | x PostGraphile | x baseline "
        "| x floor | server CPU ms/req | SQL xacts/req |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for scenario in plan:
        for name in bench.systems:
            rps = mean(name, scenario.name, "rps")
            if rps is None:
                continue
            ref = POSTGRAPHILE + ("x2" if name.endswith("x2") else "")
            pg = mean(ref, scenario.name, "rps")
            base = mean(BASELINE, scenario.name, "rps")
            floor = mean(FLOOR, scenario.name, "rps")
            xacts = mean(name, scenario.name, "transactions_per_request")
            lines.append(
                f"| {scenario.title} | {name} | {rps:,.0f} "
                f"| {mean(name, scenario.name, 'p50_ms'):.2f} "
                f"| {mean(name, scenario.name, 'p99_ms'):.2f} "
                f"| {_ratio(rps, pg)} | {_ratio(rps, base)} | {_ratio(rps, floor)} "
                f"| {mean(name, scenario.name, 'cpu_ms_per_request'):.3f} "
                f"| {'' if xacts is None else f'{xacts:.2f}'} |"
            )
    bad = sum(r.bad for r in bench.results)
    lines += ["", *goals(bench, plan, mean)]
    lines += [
        "",
        "SQL xacts/req: committed + rolled-back transactions of the system's own database "
        "(pg_stat_database) over the requests wrk completed; an autocommit statement is one, "
        "a simple-query batch (asyncpg's reset on release) is one, a transaction block is one.",
        "server CPU ms/req: user + system CPU time of the server's processes during the run "
        "over its requests: the cost per request per core, steadier than req/s on a busy "
        "machine (wrk and PostgreSQL share the same cores).",
        "",
        "| system | RSS at start MB | RSS at end MB |",
        "| --- | ---: | ---: |",
        *(
            f"| {s.name} | {s.rss_start_kb / 1024:.0f} | {s.rss_end_kb / 1024:.0f} |"
            for s in bench.systems.values()
        ),
        "",
        f"Non-2xx responses and socket errors: {bad}. "
        f"Wall time {time.monotonic() - started:.0f} s.",
    ]
    return "\n".join(lines)


def goals(bench: Run, plan: list[Scenario], mean: Any) -> list[str]:
    """The goals of the cached operations and of publishJob, met or not."""
    lines = []
    for scenario in plan:
        ours, floor = mean(OURS, scenario.name, "rps"), mean(FLOOR, scenario.name, "rps")
        if ours is not None and floor:
            p99 = mean(OURS, scenario.name, "p99_ms")
            met = ours >= FLOOR_SHARE_GOAL * floor and p99 < P99_GOAL_MS
            lines.append(
                f"Goal {scenario.title}: ours {ours:,.0f} req/s = {ours / floor:.2f} x the "
                f"floor's {floor:,.0f} (goal >= {FLOOR_SHARE_GOAL}), p99 {p99:.2f} ms "
                f"(goal < {P99_GOAL_MS:g}): {'met' if met else 'NOT MET'}."
            )
        if scenario.name != "publish" or ours is None:
            continue
        references = {
            f"the same run's {BEFORE}": mean(BEFORE, scenario.name, "rps"),
            "BENCH_PUBLISH_REFERENCE": bench.publish_reference,
        }
        for name, reference in references.items():
            if reference:
                ratio = ours / reference
                lines.append(
                    f"Goal publishJob: {ours:,.0f} req/s = {ratio:.2f} x {name} "
                    f"({reference:,.0f}; goal >= {PUBLISH_GOAL}): "
                    f"{'met' if ratio >= PUBLISH_GOAL else 'NOT MET'}."
                )
    return lines


def _ratio(value: float, reference: float | None) -> str:
    return "" if not reference else f"{value / reference:.2f}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"
