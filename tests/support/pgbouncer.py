"""Debian's PgBouncer in front of the tests' PostgreSQL, in transaction mode, for one test: a
config of its own in a temporary folder, a free port, stopped afterwards. PgBouncer refuses to
run as root: when the tests run as root it runs as the `postgres` user. Without the binary
(`make pgbouncer` installs it) the tests that need it skip, saying why."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.processes import free_port

CONFIG = """
[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = trust
auth_file = {root}/users.txt
pool_mode = transaction
default_pool_size = {server_connections}
max_client_conn = 500
ignore_startup_parameters = extra_float_digits,statement_timeout
logfile = {root}/pgbouncer.log
pidfile = {root}/pgbouncer.pid
"""


def why_no_pgbouncer() -> str | None:
    if shutil.which("pgbouncer") is None:
        return "PgBouncer is not installed (`make pgbouncer`, or apt-get install pgbouncer)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run PgBouncer as"
    return None


@dataclass(frozen=True)
class Bouncer:
    port: int
    root: Path

    def url_for(self, direct_url: str) -> str:
        """`direct_url` (a database on the tests' server) through PgBouncer."""
        parts = urlsplit(direct_url)
        return parts._replace(
            netloc=f"{parts.username or 'postgres'}@127.0.0.1:{self.port}"
        ).geturl()


@contextmanager
def pgbouncer(server_url: str, *, server_connections: int = 2) -> Iterator[Bouncer]:
    """PgBouncer on a free port in transaction mode, to the server of `server_url`, with at
    most `server_connections` server connections per database (few: the clients share them)."""
    parts = urlsplit(server_url)
    root = Path(tempfile.mkdtemp(prefix="jw-pgbouncer-"))
    os.chmod(root, 0o755)
    listen = free_port()
    (root / "users.txt").write_text('"postgres" ""\n')
    (root / "pgbouncer.ini").write_text(
        CONFIG.format(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            listen=listen,
            root=root,
            server_connections=server_connections,
        )
    )
    command = ["pgbouncer", str(root / "pgbouncer.ini")]
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        for path in (root, *root.iterdir()):
            os.chown(path, user.pw_uid, user.pw_gid)
        # setpriv executes PgBouncer in its own place: the signal to stop it reaches it.
        command = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *command]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while not _listening(listen):
            if process.poll() is not None or time.monotonic() > deadline:
                log = root / "pgbouncer.log"
                raise AssertionError(
                    f"PgBouncer did not start: {log.read_text() if log.exists() else ''}"
                )
            time.sleep(0.05)
        yield Bouncer(listen, root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0
