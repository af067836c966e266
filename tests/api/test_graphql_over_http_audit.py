"""The server passes graphql-http's audit of the GraphQL over HTTP spec: every MUST, every
SHOULD (and, as it happens, every MAY), run by Node against the real server on a socket."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.support.live_server import live_server

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / ".node" / "node_modules"
SCRIPT = Path(__file__).with_name("graphql_http_audit.cjs")


async def test_graphql_over_http_audit_has_no_error_or_warning(database_url: str) -> None:
    node = shutil.which("node")
    assert node is not None, "Node is needed for the GraphQL-over-HTTP audit"
    assert (NODE_MODULES / "graphql-http").is_dir(), "run `make pytest` to fetch graphql-http"
    async with live_server(database_url) as base_url:
        process = await asyncio.create_subprocess_exec(
            node,
            str(SCRIPT),
            f"{base_url}/graphql",
            env={**os.environ, "GRAPHQL_HTTP_MODULES": str(NODE_MODULES)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    results = json.loads(stdout)
    assert len(results) > 40  # the suite really ran
    failed = [r for r in results if r["status"] in ("error", "warn")]
    assert failed == [], json.dumps(failed, indent=2)
    notices = [r for r in results if r["status"] != "ok"]
    if notices:
        pytest.fail("optional (MAY) audits not met: " + json.dumps(notices, indent=2))
