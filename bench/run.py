"""`make bench`: this server, a plain Starlette + asyncpg baseline and PostGraphile 5, side by
side on one freshly seeded database, under wrk, alternating, then a table.

    python -m bench.run            full: 2 runs x 15 s per system and operation
    python -m bench.run --quick    1 run x 3 s: a smoke test while developing

Environment (all optional): BENCH_DURATION, BENCH_RUNS, BENCH_WARMUP (seconds),
BENCH_CONNECTIONS (32), BENCH_SERVICES (2000), BENCH_SERVER_URL (maintenance-database URL,
default postgresql://postgres@127.0.0.1:5432/postgres), BENCH_SYSTEMS / BENCH_SCENARIOS (comma
lists to run a subset), BENCH_OURS_ENV ("KEY=VALUE,KEY=VALUE" extra settings for our server),
BENCH_SCALEOUT=1 (adds our server with WORKERS=2 and PostGraphile as a 2-process Node cluster),
BENCH_PUBLISH_REFERENCE (publishJob req/s to hold ours against; default the 814 req/s recorded
on 2026-11-28, before API keys were cached: see docs/benchmarks.md; 0 leaves it out),
BENCH_BASE_ROOT (another checkout of this server, run as `ours-base` beside ours: the same
run's "before"). `ours-limits` in BENCH_SYSTEMS adds our server with the rate limits on.
BENCH_PROFILE=<dir> samples our servers with py-spy during each run (bench/profile.py).

The cached operations (the categories tree, wizardQuestions for a random service) also run
against the floor (bench/floor.py): plain Starlette on the same uvicorn handing out the bytes our
server answered, so the table shows how close to "just sending bytes" the response cache gets.

Everything it starts (databases, servers) is stopped in a `finally`, on error and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

from bench import database
from bench.processes import (
    ROOT,
    RunResult,
    System,
    cpu_seconds,
    post,
    raw_post,
    rss_kb,
    start,
    stop,
    wait_ready,
)
from bench.profile import start_profiler
from bench.report import BEFORE, table
from bench.scenarios import (
    BASE,
    BASELINE,
    FLOOR,
    GENERAL,
    LIMITS,
    OURS,
    POSTGRAPHILE,
    Scenario,
    literal_body,
    scenarios,
)
from bench.wrk import lua_script, parse, wrk
from tests.support import with_database

NODE_DIR = ROOT / "bench" / ".node"
NODE = NODE_DIR / "node_modules" / ".bin" / "node"
POSTGRAPHILE_CLI = NODE_DIR / "node_modules" / "postgraphile" / "dist" / "cli-run.js"
# PostgreSQL flushes a backend's statistics at most every second and, for an idle backend,
# within 10 s (PGSTAT_IDLE_INTERVAL): a system's counter is read only once it has been idle
# this long, so that no request of its last run is missing from the count.
STATS_SETTLE_SECONDS = 11.0
# publishJob req/s recorded on 2026-11-28 (docs/benchmarks.md), before keys were cached.
PUBLISH_REFERENCE = 814.0


def results_in(data: dict[str, Any]) -> int:
    """Non-null results of a response's data: list items, objects, one per top-level field."""
    count = 0
    for value in data.values():
        if isinstance(value, list):
            count += len(value)
        elif value is not None:
            count += 1
    return count


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.duration: float = args.duration
        self.runs: int = args.runs
        self.warmup: float = args.warmup
        self.connections: int = args.connections
        self.server_url: str = args.server_url
        self.services: int = args.services
        self.results: list[RunResult] = []
        self.databases: list[str] = []
        self.systems: dict[str, System] = {}
        self.api_key = ""  # issued into the seeded database by execute()
        self.all_slugs: list[str] = []  # every seeded slug (the literal scenario's values)
        self.tmp = Path(tempfile.mkdtemp(prefix="jw-bench-"))
        self.only_systems = set(filter(None, args.systems.split(",")))
        self.only_scenarios = set(filter(None, args.scenarios.split(",")))
        self.scaleout: bool = args.scaleout
        self.ours_env = dict(kv.split("=", 1) for kv in filter(None, args.ours_env.split(",")))
        # publishJob req/s recorded before API keys were cached (docs/benchmarks.md).
        self.publish_reference = float(
            os.environ.get("BENCH_PUBLISH_REFERENCE", PUBLISH_REFERENCE) or 0
        )

    # -- systems ---------------------------------------------------------------------------
    def define_systems(self) -> list[System]:
        python = sys.executable
        serve = [python, "server.py", "serve", "--no-migrate"]  # no seed: it would retire rows
        # The server as users run it: the default log level, so the access log is on.
        ours_env = {
            "WORKERS": "1",
            "GRAPHIQL": "false",
            # The development identity provider on a port of its own: several servers run.
            "OIDC_DEV_PORT": "0",
            # Throughput is what is measured: the budgets of one client would cut it short.
            "RATE_LIMITS": "false",
            **self.ours_env,
        }
        postgraphile = [
            str(NODE), str(POSTGRAPHILE_CLI), "-P", "postgraphile/presets/amber",
            "-s", "public", "-n", "127.0.0.1", "-p", "{port}", "-c", "{database_url}",
        ]  # fmt: skip
        node_env = {"NODE_ENV": "production", "GRAPHILE_ENV": "production"}
        systems = [
            System(OURS, serve, dict(ours_env)),  # each system its own env: DATABASE_URL differs
            System(BASELINE, [python, "-m", "bench.baseline"], {}),
            System(POSTGRAPHILE, postgraphile, node_env),
            # Started once ours has answered: it serves ours' bytes (start_floor).
            System(FLOOR, [python, "-m", "bench.floor"], {"LOG_LEVEL": "warning"}),
        ]
        # Bench-only variant (run when named in BENCH_SYSTEMS): our server without compiled
        # lookup plans, i.e. every document through graphql-core: what the plans buy.
        if GENERAL in self.only_systems:
            systems.append(System(GENERAL, serve, {**ours_env, "COMPILED_LOOKUPS": "false"}))
        if BEFORE in self.only_systems:
            before = {
                "API_KEY_CACHE_TTL_SECONDS": "0",
                "API_KEY_NEGATIVE_TTL_SECONDS": "0",
                "COMPILED_PUBLISH": "false",
            }
            systems.append(System(BEFORE, serve, {**ours_env, **before}))
        if LIMITS in self.only_systems:
            systems.append(System(LIMITS, serve, {**ours_env, "RATE_LIMITS": "true"}))
        base_root = os.environ.get("BENCH_BASE_ROOT")
        if base_root:
            # Another checkout of this server (e.g. `git worktree add /tmp/base <commit>`, with
            # this .venv): the same run's "before", alternating with ours.
            systems.append(System(BASE, serve, dict(ours_env), root=Path(base_root)))
        if self.scaleout:
            systems += [
                System(f"{OURS}x2", serve, {**ours_env, "WORKERS": "2"}),
                System(
                    f"{POSTGRAPHILE}x2",
                    [str(NODE), str(ROOT / "bench" / "cluster.mjs"), "2", *postgraphile[1:]],
                    node_env,
                ),
            ]  # fmt: skip
        if self.only_systems:
            systems = [s for s in systems if s.name in self.only_systems]
        if not any(s.name == OURS for s in systems):
            systems = [s for s in systems if s.name != FLOOR]  # nothing to copy the bytes from
        return systems

    def headers(self, kind: str) -> dict[str, str]:
        """Our server's key (publishJob needs jobs:write); the others are sent none."""
        return {"Authorization": f"Bearer {self.api_key}"} if kind == OURS else {}

    @staticmethod
    def kind(system: System) -> str:
        """Whose request bodies a system is sent."""
        return OURS if system.name.startswith(OURS) else system.name.removesuffix("x2")

    # -- statement counting -----------------------------------------------------------------
    def settle(self, system: System) -> None:
        """Close the system's pending counting window: wait until its statistics are flushed,
        then spread the transactions over the requests of the runs in the window."""
        if not system.window_runs and not system.window_requests:
            system.window_start = asyncio.run(
                database.transactions(self.server_url, system.database)
            )
            return
        wait = system.idle_since + STATS_SETTLE_SECONDS - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        now = asyncio.run(database.transactions(self.server_url, system.database))
        per_request = (now - system.window_start) / max(system.window_requests, 1)
        for run in system.window_runs:
            run.transactions_per_request = per_request
        system.window_start, system.window_requests, system.window_runs = now, 0, []

    def script(self, system: System, scenario: Scenario, slugs: list[str]) -> Path:
        """The wrk script of `scenario` for `system`; settles the statement count first when
        the system changes scenario."""
        kind = self.kind(system)
        path = self.tmp / f"{system.name}-{scenario.name}.lua"
        sent = self.all_slugs if scenario.literal or scenario.every_slug else slugs
        script = lua_script(path, scenario, kind, sent, self.headers(kind))
        if system.window_runs and system.window_runs[0].scenario != scenario.name:
            self.settle(system)
        return script

    def measure(self, system: System, scenario: Scenario, slugs: list[str], seconds: float) -> int:
        script = self.script(system, scenario, slugs)
        requests, _, _ = wrk(system.url, script, seconds, self.connections)
        system.idle_since = time.monotonic()
        system.window_requests += requests
        return requests

    def run_once(self, system: System, scenario: Scenario, slugs: list[str]) -> RunResult:
        script = self.script(system, scenario, slugs)
        assert system.process is not None
        cpu_before = cpu_seconds(system.process.pid)
        profiler = self.profile(system, scenario)
        requests, elapsed, out = wrk(system.url, script, self.duration, self.connections)
        cpu = cpu_seconds(system.process.pid) - cpu_before
        if profiler is not None:
            profiler.wait()
        system.idle_since = time.monotonic()
        system.window_requests += requests
        result = parse(system.name, scenario.name, requests, elapsed, out)
        result.cpu_ms_per_request = 1000 * cpu / max(requests, 1)
        system.window_runs.append(result)
        return result

    def profile(self, system: System, scenario: Scenario) -> subprocess.Popen[bytes] | None:
        """With BENCH_PROFILE=<dir>: py-spy samples our servers through the run."""
        if self.kind(system) != OURS or system.process is None:
            return None
        return start_profiler(system.name, scenario.name, system.process.pid, self.duration)

    # -- checks ------------------------------------------------------------------------------
    def preflight(self, system: System, scenario: Scenario, slugs: list[str]) -> None:
        kind = self.kind(system)
        body = (
            literal_body(scenario.bodies[kind], slugs[0])
            if scenario.literal
            else scenario.bodies[kind]
        )
        status, answer = post(system.url, body, self.headers(kind))
        expected = scenario.expect.get(kind, 1)
        data = answer.get("data") or {}
        if status != 200 or answer.get("errors") or results_in(data) != expected:
            raise RuntimeError(
                f"{system.name} answered {scenario.name} wrongly ({status}): "
                f"{json.dumps(answer)[:600]}"
            )

    def start_floor(self, floor: System, plan: list[Scenario]) -> None:
        """Ask our server every request the floor will be sent, and start the floor with our
        answers' bytes."""
        ours = self.systems[OURS]
        pairs: list[tuple[str, str]] = []
        for scenario in plan:
            if FLOOR not in scenario.bodies:
                continue
            for request in scenario.variants or (scenario.bodies[FLOOR],):
                pairs.append((request, raw_post(ours.url, request, self.headers(OURS))))
        path = self.tmp / "floor-responses.json"
        path.write_text(json.dumps(pairs), encoding="utf-8")
        floor.env["FLOOR_RESPONSES"] = str(path)
        start(floor, self.tmp)

    # -- the whole thing ---------------------------------------------------------------------
    def execute(self) -> None:
        started = time.monotonic()
        base, slugs, self.api_key = asyncio.run(
            database.create_seeded(self.server_url, self.services)
        )
        self.all_slugs = slugs
        self.databases.append(base)
        # The 20 slugs looked up: spread over the whole table, generated and real ones alike.
        step = max(len(slugs) // 20, 1)
        picked = slugs[::step][:20]
        plan = scenarios(picked)
        if self.only_scenarios:
            plan = [s for s in plan if s.name in self.only_scenarios]
        systems = self.define_systems()
        for system in systems:
            system.database = asyncio.run(
                database.copy_database(self.server_url, base, system.name)
            )
            self.databases.append(system.database)
            url = with_database(self.server_url, system.database)
            system.env["DATABASE_URL"] = url
            system.argv = [a.replace("{database_url}", url) for a in system.argv]
            self.systems[system.name] = system
        print(
            f"bench: {len(slugs)} micro services, {len(systems)} systems, {len(plan)} operations,"
            f" {self.runs} run(s) x {self.duration:g} s, {self.connections} connections;"
            f" logs in {self.tmp}",
            flush=True,
        )
        everything = scenarios(picked)
        for system in systems:
            if system.name != FLOOR:
                start(system, self.tmp)
        for system in systems:
            if system.name == FLOOR:
                self.start_floor(system, everything)
            probe = next(s for s in everything if self.kind(system) in s.bodies)
            wait_ready(system, probe.bodies[self.kind(system)])
            for scenario in plan:
                if self.kind(system) in scenario.bodies:
                    self.preflight(system, scenario, picked)
            system.rss_start_kb = rss_kb(system.process.pid) if system.process else 0
        time.sleep(STATS_SETTLE_SECONDS)  # start-up and pre-flight statements flushed first
        for system in systems:
            self.settle(system)
        for run in range(self.runs):
            for scenario in plan:
                order = [s for s in systems if self.kind(s) in scenario.bodies]
                if run % 2:
                    order.reverse()  # alternate who goes first: no system always runs warm
                for system in order:
                    if run == 0 and self.warmup > 0:
                        self.measure(system, scenario, picked, self.warmup)
                    result = self.run_once(system, scenario, picked)
                    self.results.append(result)
                    print(
                        f"  run {run + 1} {scenario.name:<8} {system.name:<14} "
                        f"{result.rps:9.0f} req/s  p50 {result.p50_ms:7.2f} ms  "
                        f"p99 {result.p99_ms:7.2f} ms  "
                        f"CPU {result.cpu_ms_per_request:6.3f} ms/req"
                        f"{f'  BAD {result.bad}' if result.bad else ''}",
                        flush=True,
                    )  # fmt: skip
        for system in systems:
            system.rss_end_kb = rss_kb(system.process.pid) if system.process else 0
        for system in systems:
            self.settle(system)
        print(table(self, plan, started), flush=True)

    def cleanup(self) -> None:
        for system in self.systems.values():
            try:
                stop(system)
            except Exception as exc:  # keep stopping the others
                print(f"could not stop {system.name}: {exc}", file=sys.stderr)
        if self.databases:
            asyncio.run(database.drop(self.server_url, self.databases))

    # -- report ------------------------------------------------------------------------------


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="1 run x 3 s, 1 s warm-up")
    parser.add_argument("--duration", type=float, default=float(env("BENCH_DURATION", "15")))
    parser.add_argument("--runs", type=int, default=int(env("BENCH_RUNS", "2")))
    parser.add_argument("--warmup", type=float, default=float(env("BENCH_WARMUP", "3")))
    parser.add_argument("--connections", type=int, default=int(env("BENCH_CONNECTIONS", "32")))
    parser.add_argument("--services", type=int, default=int(env("BENCH_SERVICES", "2000")))
    parser.add_argument(
        "--server-url",
        default=env("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--systems", default=env("BENCH_SYSTEMS", ""))
    parser.add_argument("--scenarios", default=env("BENCH_SCENARIOS", ""))
    parser.add_argument("--ours-env", default=env("BENCH_OURS_ENV", ""))
    parser.add_argument(
        "--scaleout", action="store_true", default=env("BENCH_SCALEOUT", "") in ("1", "true")
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.runs, args.warmup = 3.0, 1, 1.0
    return args


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    bench = Bench(args)
    try:
        bench.execute()
    except KeyboardInterrupt:
        print("bench: interrupted, stopping everything it started", file=sys.stderr)
        return 130
    finally:
        bench.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
