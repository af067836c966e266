"""The table `bench.run` prints: every system's figures per operation, the ratios to the other
systems, the goals met or not, and memory."""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from bench.processes import RunResult, System
from bench.scenarios import BASELINE, FLOOR, OURS, POSTGRAPHILE, Scenario

# The goals the cached operations and publishJob are held to (see docs/benchmarks.md).
FLOOR_SHARE_GOAL = 0.8
P99_GOAL_MS = 10.0
PUBLISH_GOAL = 1.5  # x the publishJob req/s recorded before API keys were cached
# Against PostGraphile, by scenario: one lookup, 20 aliased lookups, a literal in the query.
POSTGRAPHILE_GOALS = {"one": 1.5, "aliased": 10.0, "literal": 1.0}
LITERAL_GOAL = 0.9  # the literal query x our own one-lookup figure (variables)
LIMITS_GOAL = 0.9  # rate limits on x off
LIMITS = "ours-limits"
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
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    lines = [
        f"\n## Bench {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {os.cpu_count()} cores ({cpu}),"
        f" PostgreSQL on loopback, wrk -t1 -c{bench.connections}, {bench.runs} x "
        f"{bench.duration:g} s per cell, {bench.services} micro services\n",
        f"Command: `{command()}`; load average at the end (1 / 5 / 15 min): {load}.\n",
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
    """One table of the goals: each ratio, its target, met or not."""
    rows: list[tuple[str, str, str, bool]] = []
    names = {scenario.name: scenario.title for scenario in plan}
    for scenario in plan:
        ours, floor = mean(OURS, scenario.name, "rps"), mean(FLOOR, scenario.name, "rps")
        if ours is not None and floor:
            p99 = mean(OURS, scenario.name, "p99_ms")
            rows.append((
                f"{scenario.title}: x the floor, p99",
                f"{ours / floor:.2f} x ({ours:,.0f} / {floor:,.0f} req/s), p99 {p99:.2f} ms",
                f">= {FLOOR_SHARE_GOAL} x, p99 <= {P99_GOAL_MS:g} ms",
                ours >= FLOOR_SHARE_GOAL * floor and p99 <= P99_GOAL_MS,
            ))  # fmt: skip
        pg = mean(POSTGRAPHILE, scenario.name, "rps")
        target = POSTGRAPHILE_GOALS.get(scenario.name)
        if ours is not None and pg and target is not None:
            rows.append((
                f"{scenario.title}: x PostGraphile",
                f"{ours / pg:.2f} x ({ours:,.0f} / {pg:,.0f} req/s)",
                f">= {target:g} x",
                ours >= target * pg,
            ))  # fmt: skip
        limited = mean(LIMITS, scenario.name, "rps")
        if ours and limited is not None:
            rows.append((
                f"{scenario.title}: rate limits on x off",
                f"{limited / ours:.2f} x ({limited:,.0f} / {ours:,.0f} req/s)",
                f">= {LIMITS_GOAL:g} x",
                limited >= LIMITS_GOAL * ours,
            ))  # fmt: skip
        if scenario.name == "publish" and ours is not None:
            references = {
                f"the same run's {BEFORE}": mean(BEFORE, scenario.name, "rps"),
                "BENCH_PUBLISH_REFERENCE": bench.publish_reference,
            }
            for name, reference in references.items():
                if reference:
                    rows.append((
                        f"publishJob: x {name}",
                        f"{ours / reference:.2f} x ({ours:,.0f} / {reference:,.0f} req/s)",
                        f">= {PUBLISH_GOAL} x",
                        ours >= PUBLISH_GOAL * reference,
                    ))  # fmt: skip
    literal, one = mean(OURS, "literal", "rps"), mean(OURS, "one", "rps")
    if literal is not None and one:
        rows.append((
            f"{names.get('literal', 'literal')}: x our {names.get('one', 'one')} (variables)",
            f"{literal / one:.2f} x ({literal:,.0f} / {one:,.0f} req/s)",
            f">= {LITERAL_GOAL:g} x",
            literal >= LITERAL_GOAL * one,
        ))  # fmt: skip
    if not rows:
        return []
    return [
        "| goal | this run | target | met |",
        "| --- | --- | --- | --- |",
        *(f"| {goal} | {figure} | {target} | {'yes' if met else '**no**'} |"
          for goal, figure, target, met in rows),
    ]  # fmt: skip


def command() -> str:
    """The command line that reproduces this run, with the bench's settings from the
    environment."""
    settings = " ".join(
        f"{name}={value}" for name, value in sorted(os.environ.items()) if name.startswith("BENCH_")
    )
    argv = " ".join(["python -m bench.run", *sys.argv[1:]])
    return f"{settings} {argv}".strip()


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
