"""A PostgreSQL primary and a streaming replica of it, made on this machine for one test module:
`initdb` for the primary (a server of the test's own, so that a base backup copies a few
megabytes, not every database of the shared server), `pg_basebackup -R` for the replica.

PostgreSQL refuses to run as root: when the tests run as root, the servers run as the
`postgres` user. Without the binaries (or that user) the tests that need a replica skip,
saying why.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from domain.catalogue import Catalogue
from tests.support import prepare_database
from tests.support.polling import eventually
from tests.support.processes import free_port

# Durability is not what these servers are for: they start and write fast.
FAST = """
listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = off
full_page_writes = on
wal_level = replica
max_wal_senders = 4
shared_buffers = 16MB
max_connections = 60
wal_receiver_status_interval = 1s
"""


def postgres_bin() -> Path | None:
    """The directory of the machine's PostgreSQL server binaries (the newest), if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def why_no_replica() -> str | None:
    """None when a primary and replica can be made here; else the reason."""
    if postgres_bin() is None:
        return "no PostgreSQL server binaries (initdb) on this machine"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run PostgreSQL as"
    return None


@dataclass
class StreamingPair:
    bin: Path
    root: Path
    primary_port: int
    replica_port: int

    def url(self, port: int, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/{database}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self.url(self.replica_port)

    @property
    def replica_data(self) -> Path:
        return self.root / "replica"

    def run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60, cwd=self.root)

    def stop_replica(self) -> None:
        self.run("pg_ctl", "-D", str(self.replica_data), "-m", "fast", "-w", "stop")

    def start_replica(self) -> None:
        log = str(self.root / "replica.log")
        self.run("pg_ctl", "-D", str(self.replica_data), "-l", log, "-w", "start")


@contextmanager
def streaming_pair() -> Iterator[StreamingPair]:
    """A running primary and its streaming replica, both stopped and removed afterwards."""
    binaries = postgres_bin()
    assert binaries is not None
    root = Path(tempfile.mkdtemp(prefix="jw-replica-"))
    os.chmod(root, 0o755)
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
    pair = StreamingPair(binaries, root, free_port(), free_port())
    primary = root / "primary"
    started: list[Path] = []
    try:
        pair.run("initdb", "-D", str(primary), "-U", "postgres", "--auth=trust", "-N")
        with open(primary / "postgresql.conf", "a") as conf:
            conf.write(FAST + f"port = {pair.primary_port}\nunix_socket_directories = '{root}'\n")
        pair.run("pg_ctl", "-D", str(primary), "-l", str(root / "primary.log"), "-w", "start")
        started.append(primary)
        pair.run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(pair.primary_port), "-U", "postgres"),
            *("-D", str(pair.replica_data), "-R", "-X", "stream", "-c", "fast"),
        )
        with open(pair.replica_data / "postgresql.conf", "a") as conf:
            conf.write(f"port = {pair.replica_port}\n")
        pair.start_replica()
        started.append(pair.replica_data)
        yield pair
    finally:
        for data in reversed(started):
            subprocess.run(
                [
                    *(["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []),
                    str(binaries / "pg_ctl"),
                    *("-D", str(data), "-m", "immediate", "-w", "stop"),
                ],
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)


async def seeded_on_both(pair: StreamingPair, database: str, catalogue: Catalogue) -> str:
    """`database` created, migrated and seeded on the primary, once the replica has replayed it
    (its tables, not only the database); the primary's URL of it."""
    conn = await asyncpg.connect(pair.primary_url)
    try:
        await conn.execute(f"CREATE DATABASE {database}")
    finally:
        await conn.close()
    url = pair.url(pair.primary_port, database)
    await prepare_database(url, catalogue)

    async def replayed() -> bool:
        try:
            conn = await asyncpg.connect(pair.url(pair.replica_port, database))
        except asyncpg.InvalidCatalogNameError:
            return False
        try:
            return bool(await conn.fetchval("SELECT count(*) FROM micro_services"))
        except asyncpg.UndefinedTableError:
            return False  # the database is there, its migrations not replayed yet
        finally:
            await conn.close()

    await eventually(replayed, timeout=10, what="the replica has the seeded database")
    return url
