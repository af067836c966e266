"""`python server.py` as a real process in tests: one command run to its end, or a server on a
free port, waited for until it answers `/health` and stopped afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from config import ROOT


def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python server.py ARGS...` against `database_url`, run to its end (a minute at most)."""
    return subprocess.run(
        [sys.executable, str(ROOT / "server.py"), *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def free_port() -> int:
    """A port nobody holds now; the server binds it a moment later (a tiny race that a parallel
    run could only lose by grabbing this exact port in between)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_healthy(
    url: str, process: subprocess.Popen[bytes], log: Path, *, timeout: float = 30.0
) -> None:
    """Return once `url/health` answers 200; fail with the server's log if it exits first or
    is not healthy within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server not healthy after {timeout:g} s:\n{log.read_text()}")


@dataclass(frozen=True)
class ServerProcess:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def serving(
    database_url: str, log: Path, *, timeout: float = 30.0, **env: str
) -> Iterator[ServerProcess]:
    """`python server.py` serving `database_url` on a free port of 127.0.0.1 (`env` adds
    settings, `WORKERS="2"` say), healthy when yielded; stopped with SIGINT on exit, as an
    operator's Ctrl-C would (the caller may check `process.returncode` afterwards)."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "server.py")],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": database_url,
                "PORT": str(port),
                "HOST": "127.0.0.1",
                # The development identity provider (no OIDC_ISSUER) on a free port of its own.
                "OIDC_DEV_PORT": "0",
                # Rate-limit counters of their own: every test's servers call from 127.0.0.1,
                # and with Redis they would draw on one anonymous budget. Servers of one
                # database (a fleet) share theirs.
                "RATE_LIMIT_PREFIX": f"test:{urlsplit(database_url).path.lstrip('/')}:rl",
                **env,
            },
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers form one group: killed together if stuck
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, process, log, timeout=timeout)
        yield ServerProcess(url, process, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
