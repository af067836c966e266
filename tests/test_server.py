"""`python server.py` as a real process: migrates, seeds, serves, answers, and stops."""

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from config import ROOT
from tests.support.processes import serving

_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+ \[[\w.-]+\] ")


def test_server_process_migrates_seeds_and_answers(empty_database_url: str, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with serving(empty_database_url, log) as server:
        response = httpx.post(
            f"{server.url}/graphql",
            json={
                "query": "{ wizardQuestions(categories: "
                '["painting", "interior", "wall-painting"]) { microId microUuid } }'
            },
            timeout=5,
        )
        wizard = response.json()["data"]["wizardQuestions"]
        assert wizard["microId"] == "wall-painting"
        assert wizard["microUuid"] is not None
        graphiql = httpx.get(f"{server.url}/graphql", headers={"Accept": "text/html"}, timeout=5)
        assert graphiql.status_code == 200
        assert "graphiql" in graphiql.text.lower()
    assert server.process.returncode == 0, log.read_text()
    assert "Traceback" not in log.read_text()


def test_bad_setting_stops_with_a_message_naming_it() -> None:
    result = subprocess.run(
        [sys.executable, "server.py"],
        cwd=ROOT,
        env={**os.environ, "PORT": "eighty"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "Config 'PORT' must be an integer, got 'eighty'." in result.stderr


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_workers_serve_from_several_processes_sharing_the_port(
    empty_database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    with serving(empty_database_url, log, WORKERS="2") as server:
        # Migrated and seeded once by the parent; both workers answer from that database.
        workers = [
            pid
            for pid in _children(server.process.pid)
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        assert len(workers) == 2, workers
        for _ in range(10):
            body = httpx.post(
                f"{server.url}/graphql",
                json={"query": '{ microService(slug: "wall-painting") { id } }'},
                timeout=5,
            ).json()
            assert body["data"]["microService"]["id"]
    assert server.process.returncode == 0, log.read_text()
    text = log.read_text()
    assert "Traceback" not in text
    # One format in every process: the workers' lines (the app's INFO lines included) carry a
    # timestamp, the level, the logger and the request id like the parent's.
    lines = [line for line in text.splitlines() if line.strip()]
    assert all(_LOG_LINE.match(line) for line in lines), text
    warmed = [line for line in lines if "INFO app.wiring [-] lookup cache warmed" in line]
    assert len(warmed) == 2, text
