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
on 2026-11-28, before API keys were cached: see docs/benchmarks.md; 0 leaves it out).

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
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench import database
from bench.scenarios import (
    BASELINE,
    FLOOR,
    GENERAL,
    OURS,
    POSTGRAPHILE,
    Scenario,
    literal_body,
    scenarios,
)
from tests.support import with_database

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "bench" / ".node"
NODE = NODE_DIR / "node_modules" / ".bin" / "node"
POSTGRAPHILE_CLI = NODE_DIR / "node_modules" / "postgraphile" / "dist" / "cli-run.js"
# PostgreSQL flushes a backend's statistics at most every second and, for an idle backend,
# within 10 s (PGSTAT_IDLE_INTERVAL): a system's counter is read only once it has been idle
# this long, so that no request of its last run is missing from the count.
STATS_SETTLE_SECONDS = 11.0
STARTUP_TIMEOUT = 90.0
# The goals the cached operations and publishJob are held to (see docs/benchmarks.md).
FLOOR_SHARE_GOAL = 0.5
P99_GOAL_MS = 20.0
PUBLISH_GOAL = 1.5  # x the publishJob req/s recorded before API keys were cached
# Bench-only variant (run when named in BENCH_SYSTEMS): our server as it was when publishJob's
# goal was set (every API key checked in the database, the mutation through graphql-core): the
# same run's reference for publishJob.
BEFORE = "ours-before"
# publishJob req/s recorded on 2026-11-28 (docs/benchmarks.md), before keys were cached.
PUBLISH_REFERENCE = 814.0


@dataclass
class System:
    name: str
    argv: list[str]
    env: dict[str, str]
    database: str = ""
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    rss_start_kb: int = 0
    rss_end_kb: int = 0
    # Statement counting: transactions counter at the start of the pending window.
    window_start: int = 0
    window_requests: int = 0
    window_runs: list[RunResult] = field(default_factory=list)
    idle_since: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"


@dataclass
class RunResult:
    system: str
    scenario: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    bad: int  # non-2xx responses and socket errors
    cpu_ms_per_request: float = 0.0  # the server's CPU time over the run / requests
    transactions_per_request: float | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_tree(pid: int) -> set[int]:
    """`pid` and all its descendants (uvicorn and Node workers)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = {pid}, [pid]
    while frontier:
        current = frontier.pop()
        children = [p for p, parent in parents.items() if parent == current]
        tree.update(children)
        frontier.extend(children)
    return tree


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by `pid` and its live descendants."""
    ticks = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    """Resident memory of `pid` and all its descendants."""
    total = 0
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def post(
    url: str, body: str, headers: dict[str, str], timeout: float = 10.0
) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=body.encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def raw_post(url: str, body: str, headers: dict[str, str]) -> str:
    """The response body, as sent (no decoding of the JSON)."""
    request = urllib.request.Request(
        url,
        data=body.encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        text: str = response.read().decode("utf-8")
    return text


def results_in(data: dict[str, Any]) -> int:
    """Non-null results of a response's data: list items, objects, one per top-level field."""
    count = 0
    for value in data.values():
        if isinstance(value, list):
            count += len(value)
        elif value is not None:
            count += 1
    return count


def start(system: System, log_dir: Path) -> None:
    system.port = free_port()
    env = {**os.environ, **system.env, "PORT": str(system.port), "HOST": "127.0.0.1"}
    env = {k: v.replace("{port}", str(system.port)) for k, v in env.items()}
    argv = [a.replace("{port}", str(system.port)) for a in system.argv]
    log = (log_dir / f"{system.name}.log").open("wb")
    system.process = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_ready(system: System, probe: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    assert system.process is not None
    while time.monotonic() < deadline:
        if system.process.poll() is not None:
            raise RuntimeError(f"{system.name} exited at start; see its log")
        try:
            status, _ = post(system.url, probe, {}, timeout=2)
            if status == 200:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{system.name} did not answer within {STARTUP_TIMEOUT:.0f} s")


def stop(system: System) -> None:
    process = system.process
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


def lua_script(
    path: Path, scenario: Scenario, system: str, slugs: list[str], headers: dict[str, str]
) -> Path:
    lines = ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"']
    lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items()]
    if scenario.literal:
        field_name, fields = scenario.bodies[system].split("|")
        quoted = ", ".join(f'"{s}"' for s in slugs)
        lines += [
            f"local slugs = {{{quoted}}}",
            "local n = 0",
            "request = function()",
            "  n = n + 1",
            "  local slug = slugs[(n % #slugs) + 1]",
            f'  local q = string.format(\'{{ q%d: {field_name}(slug: \\\\"%s\\\\") '
            f"{{ {fields} }} }}', n, slug)",
            "  return wrk.format(nil, nil, nil, '{\"query\":\"' .. q .. '\"}')",
            "end",
        ]
    elif scenario.variants and system in (OURS, FLOOR):
        bodies = ", ".join(f"[==[{variant}]==]" for variant in scenario.variants)
        lines += [
            f"local bodies = {{{bodies}}}",
            "request = function()",
            "  return wrk.format(nil, nil, nil, bodies[math.random(#bodies)])",
            "end",
        ]
    else:
        lines.append(f"wrk.body = [==[{scenario.bodies[system]}]==]")
    path.write_text("\n".join(lines) + "\n")
    return path


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, script: Path, seconds: float, connections: int) -> tuple[int, float, str]:
    argv = [
        "wrk", "-t1", f"-c{connections}", f"-d{max(round(seconds), 1)}s", "--latency",
        "--timeout", "5s", "-s", str(script), url,
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=True)
    match = re.search(r"(\d+) requests in ([\d.]+)(m?s)", done.stdout)
    if match is None:
        raise RuntimeError(f"cannot read wrk output:\n{done.stdout}{done.stderr}")
    scale = 1.0 if match.group(3) == "s" else 0.001
    return int(match.group(1)), float(match.group(2)) * scale, done.stdout


def parse(system: str, scenario: str, requests: int, seconds: float, out: str) -> RunResult:
    # The "Latency Distribution" lines: "     50%    1.23ms" (not the "+/- Stdev" column).
    p50 = re.search(r"^\s+50%\s+(\S+)\s*$", out, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)\s*$", out, re.MULTILINE)
    if p50 is None or p99 is None:
        raise RuntimeError(f"cannot read wrk latencies:\n{out}")
    bad = sum(int(m) for m in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errors is not None:
        bad += sum(int(g) for g in errors.groups())
    return RunResult(
        system, scenario, requests, seconds, requests / seconds, _ms(p50.group(1)),
        _ms(p99.group(1)), bad,
    )  # fmt: skip


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
        ours_env = {
            "WORKERS": "1",
            "LOG_LEVEL": "warning",
            "GRAPHIQL": "false",
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
        script = lua_script(path, scenario, kind, slugs, self.headers(kind))
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
        requests, elapsed, out = wrk(system.url, script, self.duration, self.connections)
        cpu = cpu_seconds(system.process.pid) - cpu_before
        system.idle_since = time.monotonic()
        system.window_requests += requests
        result = parse(system.name, scenario.name, requests, elapsed, out)
        result.cpu_ms_per_request = 1000 * cpu / max(requests, 1)
        system.window_runs.append(result)
        return result

    # -- checks ------------------------------------------------------------------------------
    def preflight(self, system: System, scenario: Scenario, slugs: list[str]) -> None:
        kind = self.kind(system)
        body = (
            literal_body(scenario.bodies[kind], slugs[0], 0)
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
        print(self.table(plan, started), flush=True)

    def cleanup(self) -> None:
        for system in self.systems.values():
            try:
                stop(system)
            except Exception as exc:  # keep stopping the others
                print(f"could not stop {system.name}: {exc}", file=sys.stderr)
        if self.databases:
            asyncio.run(database.drop(self.server_url, self.databases))

    # -- report ------------------------------------------------------------------------------
    def table(self, plan: list[Scenario], started: float) -> str:
        def mean(system: str, scenario: str, attr: str) -> float | None:
            values = [
                getattr(r, attr)
                for r in self.results
                if r.system == system and r.scenario == scenario
                and getattr(r, attr) is not None
            ]  # fmt: skip
            return statistics.fmean(values) if values else None

        cpu = _cpu_model()
        lines = [
            f"\n## Bench {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {os.cpu_count()} cores ({cpu}),"
            f" PostgreSQL on loopback, wrk -t1 -c{self.connections}, {self.runs} x "
            f"{self.duration:g} s per cell, {self.services} micro services\n",
            "| operation | system | req/s | p50 ms | p99 ms | x PostGraphile | x baseline "
            "| x floor | server CPU ms/req | SQL xacts/req |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for scenario in plan:
            for name in self.systems:
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
        bad = sum(r.bad for r in self.results)
        lines += ["", *self.goals(plan, mean)]
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
                for s in self.systems.values()
            ),
            "",
            f"Non-2xx responses and socket errors: {bad}. "
            f"Wall time {time.monotonic() - started:.0f} s.",
        ]
        return "\n".join(lines)

    def goals(self, plan: list[Scenario], mean: Any) -> list[str]:
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
                "BENCH_PUBLISH_REFERENCE": self.publish_reference,
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
