"""An API key with jobs:write for tests that publish through a page, made the way an operator
makes one (`python server.py create-api-key`), so that the same tests run whether or not this
server requires keys yet (the API-key issue adds the command and the requirement together)."""

from __future__ import annotations

import os
import subprocess
import sys

from api.settings import ROOT


def create_publisher_key(database_url: str) -> str | None:
    """A new jobs:write key, or None when this server has no API keys at all."""
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "server.py"),
            "create-api-key",
            "--name",
            "page tests",
            "--scope",
            "jobs:write",
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode == 2 and "invalid choice: 'create-api-key'" in done.stderr:
        return None
    assert done.returncode == 0, done.stderr
    # The command prints the key alone on its last line.
    return done.stdout.strip().splitlines()[-1]
