"""The benchmarks' processes: a system under test started in a session of its own, probed until
it answers, stopped with its whole process tree; its CPU time and resident memory read from /proc;
plain HTTP posts to it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 90.0


@dataclass
class System:
    name: str
    argv: list[str]
    env: dict[str, str]
    root: Path | None = None  # where it runs from (another checkout); None: this one
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


def start(system: System, log_dir: Path) -> None:
    system.port = free_port()
    env = {**os.environ, **system.env, "PORT": str(system.port), "HOST": "127.0.0.1"}
    env = {k: v.replace("{port}", str(system.port)) for k, v in env.items()}
    argv = [a.replace("{port}", str(system.port)) for a in system.argv]
    log = (log_dir / f"{system.name}.log").open("wb")
    system.process = subprocess.Popen(
        argv,
        cwd=system.root or ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
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
