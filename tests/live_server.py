"""The real app served by uvicorn on a free port of 127.0.0.1, in the test's event loop, for
clients that need a socket (Node's fetch in the GraphQL-over-HTTP audit)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from server import create_app
from tests.support import test_settings


@contextlib.asynccontextmanager
async def live_server(database_url: str, **overrides: Any) -> AsyncIterator[str]:
    """Yield the base URL of the running server; stop it on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # the OS picks a free port: no clash with parallel runs
    port = sock.getsockname()[1]
    app = create_app(
        test_settings(migrate_on_start=False, seed_on_start=False, **overrides),
        database_url=database_url,
    )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(200):
            if server.started:
                break
            if task.done():
                task.result()  # re-raise why it did not start
            await asyncio.sleep(0.025)
        else:
            raise RuntimeError("uvicorn did not start within 5 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
        sock.close()
