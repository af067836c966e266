"""Two uvicorn workers (`WORKERS=2`, real processes): after a seed no worker serves the old
catalogue, and a revoked key fails on the next request in each, with no wait beyond the
notice's own delivery."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from config import ROOT
from tests.support.jobs import PUBLISH, error_codes, publish_input
from tests.support.keys import issue_api_key
from tests.support.processes import free_port, wait_until_healthy

TREE = "{ categories { slug name } }"
ROUNDS = 40  # requests on fresh connections: both workers take some


@pytest.fixture
def two_workers(empty_database_url: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "DATABASE_URL": empty_database_url,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WORKERS": "2",
        "LOG_LEVEL": "warning",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "server.py"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, log, timeout=60)
        time.sleep(1.0)  # both workers up, not only the first
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


async def _fresh(
    url: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """One request on a new connection (so the two workers share the rounds)."""
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{url}/graphql", json=body, headers=headers, timeout=5)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def _names(url: str) -> list[str]:
    answers = [await _fresh(url, {"query": TREE}) for _ in range(ROUNDS)]
    return [
        next(c["name"] for c in a["data"]["categories"] if c["slug"] == "painting") for a in answers
    ]


async def test_no_worker_serves_the_old_catalogue_after_a_seed(
    two_workers: str, empty_database_url: str, tmp_path: Path
) -> None:
    assert set(await _names(two_workers)) == {"Painting & decorating"}  # kept by both
    changed = json.loads((ROOT / "db" / "catalogue.json").read_text())
    changed["categories"][0]["name"] = "Painting, renamed"
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(changed))
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "server.py", "seed"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": empty_database_url, "CATALOGUE_PATH": str(path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    # No sleep: the seed's notice left with its commit, before the command even exited.
    assert set(await _names(two_workers)) == {"Painting, renamed"}


async def test_a_revoked_key_fails_on_the_next_request_in_every_worker(
    two_workers: str, empty_database_url: str
) -> None:
    conn = await asyncpg.connect(empty_database_url)
    try:
        key = await issue_api_key(conn, name="two workers", scopes=["jobs:write"])
        body = {"query": PUBLISH, "variables": publish_input()}
        for _ in range(ROUNDS // 4):  # both workers verify it and keep it
            assert "errors" not in await _fresh(two_workers, body, key.headers)
        await conn.execute("UPDATE api_keys SET revoked_at = now() WHERE id = $1", key.id)
    finally:
        await conn.close()
    answers = await asyncio.gather(
        *(_fresh(two_workers, body, key.headers) for _ in range(ROUNDS // 4))
    )
    assert all(error_codes(a) == ["UNAUTHENTICATED"] for a in answers)
