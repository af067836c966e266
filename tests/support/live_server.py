"""The real app served by uvicorn on a free port of 127.0.0.1, in the test's event loop, for
clients that need a socket (Node's fetch in the GraphQL-over-HTTP audit)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from api.connections import uvicorn_options
from app.root import create_app
from tests.support import test_settings


@contextlib.asynccontextmanager
async def live_server(database_url: str, **overrides: Any) -> AsyncIterator[str]:
    """Yield the base URL of the running server; stop it on exit."""
    settings = test_settings(migrate_on_start=False, seed_on_start=False, **overrides)
    app = create_app(settings, database_url=database_url)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", **uvicorn_options(settings))
    )
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))  # the OS picks a free port: no clash with parallel runs
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            yield await _started(server, task, sock.getsockname()[1])
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, timeout=10)


async def _started(server: uvicorn.Server, task: asyncio.Task[None], port: int) -> str:
    for _ in range(200):
        if server.started:
            return f"http://127.0.0.1:{port}"
        if task.done():
            task.result()  # re-raise why it did not start
        await asyncio.sleep(0.025)
    raise RuntimeError("uvicorn did not start within 5 s")
