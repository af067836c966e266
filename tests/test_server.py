"""`python server.py` as a real process: migrates, seeds, serves, answers, and stops."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from config import ROOT
from tests.support.processes import free_port, wait_until_healthy

_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+ \[[\w.-]+\] ")


def test_server_process_migrates_seeds_and_answers(empty_database_url: str, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "server.log"
    env = {**os.environ, "DATABASE_URL": empty_database_url, "PORT": str(port), "HOST": "127.0.0.1"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "server.py"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, log)
        response = httpx.post(
            f"{url}/graphql",
            json={
                "query": "{ wizardQuestions(categories: "
                '["painting", "interior", "wall-painting"]) { microId microUuid } }'
            },
            timeout=5,
        )
        wizard = response.json()["data"]["wizardQuestions"]
        assert wizard["microId"] == "wall-painting"
        assert wizard["microUuid"] is not None
        graphiql = httpx.get(f"{url}/graphql", headers={"Accept": "text/html"}, timeout=5)
        assert graphiql.status_code == 200
        assert "graphiql" in graphiql.text.lower()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=15)
    assert process.returncode == 0, log.read_text()
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
    port = free_port()
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "DATABASE_URL": empty_database_url,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WORKERS": "2",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "server.py"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, log)
        # Migrated and seeded once by the parent; both workers answer from that database.
        workers = [
            pid
            for pid in _children(process.pid)
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        assert len(workers) == 2, workers
        for _ in range(10):
            body = httpx.post(
                f"{url}/graphql",
                json={"query": '{ microService(slug: "wall-painting") { id } }'},
                timeout=5,
            ).json()
            assert body["data"]["microService"]["id"]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
    assert process.returncode == 0, log.read_text()
    text = log.read_text()
    assert "Traceback" not in text
    # One format in every process: the workers' lines (the app's INFO lines included) carry a
    # timestamp, the level, the logger and the request id like the parent's.
    lines = [line for line in text.splitlines() if line.strip()]
    assert all(_LOG_LINE.match(line) for line in lines), text
    warmed = [line for line in lines if "INFO app.wiring [-] lookup cache warmed" in line]
    assert len(warmed) == 2, text
