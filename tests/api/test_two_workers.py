"""Two uvicorn workers (`WORKERS=2`, real processes): after a seed no worker serves the old
catalogue, and a revoked key fails on the next request in each, with no wait beyond the
notice's own delivery. Each answer says which worker gave it (`/health`'s `pid`, asked on the
same connection), so "each worker" is proved, not hoped for."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from config import ROOT
from tests.support import error_codes
from tests.support.jobs import PUBLISH, publish_input
from tests.support.keys import issue_api_key
from tests.support.polling import eventually_sync
from tests.support.processes import serving

TREE = "{ categories { slug name } }"
ROUNDS = 40  # requests on fresh connections: both workers take some
# Rounds on fresh connections after which a worker that never answered is a failure, not luck.
MAX_ROUNDS = 400


@dataclass(frozen=True)
class Workers:
    url: str
    pids: frozenset[int]


@pytest.fixture
def two_workers(empty_database_url: str, tmp_path: Path) -> Iterator[Workers]:
    with serving(
        empty_database_url,
        tmp_path / "server.log",
        timeout=60,
        WORKERS="2",
        LOG_LEVEL="warning",
        # A revoked key is asked of both workers until each has answered, however unevenly
        # the kernel spreads the connections: more than the per-IP budget of bad keys.
        RATE_LIMIT_AUTH_FAILURES="100000",
    ) as server:
        # Both workers up, not only the first: ask /health on new connections until two
        # processes have answered.
        pids: set[int] = set()

        def both_answered() -> bool:
            pids.add(httpx.get(f"{server.url}/health", timeout=5).json()["pid"])
            return len(pids) == 2

        eventually_sync(both_answered, timeout=60, interval=0.01, what="both workers answer")
        yield Workers(server.url, frozenset(pids))


async def _fresh(
    url: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    """One request on a new connection (so the two workers share the rounds), and the pid of
    the worker that answered it (asked on that same connection just before)."""
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=1)) as client:
        pid: int = (await client.get(f"{url}/health", timeout=5)).json()["pid"]
        response = await client.post(f"{url}/graphql", json=body, headers=headers, timeout=5)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return pid, result


async def _from_every_worker(
    workers: Workers,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
    *,
    rounds: int = ROUNDS,
) -> list[dict[str, Any]]:
    """At least `rounds` answers, and more until every worker has given one."""
    answers: list[dict[str, Any]] = []
    seen: set[int] = set()
    while len(answers) < rounds or seen != workers.pids:
        assert len(answers) < MAX_ROUNDS, f"only {seen} of {set(workers.pids)} answered"
        pid, answer = await _fresh(workers.url, body, headers)
        seen.add(pid)
        answers.append(answer)
    assert seen == workers.pids
    return answers


async def _names(workers: Workers) -> list[str]:
    answers = await _from_every_worker(workers, {"query": TREE})
    return [
        next(c["name"] for c in a["data"]["categories"] if c["slug"] == "painting") for a in answers
    ]


async def test_no_worker_serves_the_old_catalogue_after_a_seed(
    two_workers: Workers, empty_database_url: str, tmp_path: Path
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
    two_workers: Workers, empty_database_url: str
) -> None:
    conn = await asyncpg.connect(empty_database_url)
    try:
        key = await issue_api_key(conn, name="two workers", scopes=["jobs:write"])
        body = {"query": PUBLISH, "variables": publish_input()}
        # Both workers verify it and keep it.
        for answer in await _from_every_worker(two_workers, body, key.headers, rounds=ROUNDS // 4):
            assert "errors" not in answer
        await conn.execute("UPDATE api_keys SET revoked_at = now() WHERE id = $1", key.id)
    finally:
        await conn.close()
    answers = await _from_every_worker(two_workers, body, key.headers, rounds=ROUNDS // 4)
    assert all(error_codes(a) == ["UNAUTHENTICATED"] for a in answers)
