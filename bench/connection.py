"""What a cached answer costs inside the process, through uvicorn's HTTP protocol: this server
(default settings, its access log on) against the floor's app (bench/floor.py, no access log),
each fed the same request bytes on a connection without a socket.

    .venv/bin/python -m bench.connection [--requests 20000] [--rounds 7]

No wrk, no kernel: the CPU one request costs from the parser's first callback to the last byte
handed to the transport, the minimum of several rounds. Lines: ours as it runs; ours with the
connection's lane off (the app's express lane answers, as before it); the floor. A database of
its own on BENCH_SERVER_URL (default 127.0.0.1:5432), dropped afterwards; the access lines go
to a discarded stream.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import logging.config
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import uvloop
from asgi_lifespan import LifespanManager
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from api.connections import GuardedHttpToolsProtocol, uvicorn_options
from app.root import create_app
from bench.database import create_seeded, drop
from bench.floor import create_app as floor_app
from config import Settings
from monitoring.logs import log_config
from tests.support import with_database
from tests.support.transport import MemoryTransport

SERVER_URL = os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TREE = "{ categories { slug name subcategories { slug name microServices { slug name } } } }"
BODY = orjson.dumps({"query": TREE})
REQUEST = (
    b"POST /graphql HTTP/1.1\r\nhost: 127.0.0.1:8000\r\ncontent-type: application/json\r\n"
    b"content-length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
)


def connection(
    protocol: type[HttpToolsProtocol], config: Config, app_state: dict[str, Any]
) -> tuple[Callable[[], Awaitable[None]], MemoryTransport]:
    """One request and its whole answer on a new connection's protocol, as a callable; and
    the connection's transport."""
    loop = asyncio.get_running_loop()
    proto = protocol(config=config, server_state=ServerState(), app_state=app_state, _loop=loop)
    transport = MemoryTransport()
    proto.connection_made(transport)  # type: ignore[arg-type]

    async def exchange() -> None:
        before = proto.cycle
        proto.data_received(REQUEST)
        cycle = proto.cycle
        if cycle is before:
            return  # answered by the connection itself
        # One loop iteration at a time: the least a wait can add to what is measured.
        while cycle is not None and not cycle.response_complete:  # noqa: ASYNC110
            await asyncio.sleep(0)

    return exchange, transport


async def measure(
    connected: tuple[Callable[[], Awaitable[None]], MemoryTransport], requests: int, rounds: int
) -> float:
    """µs of CPU per request: the least of `rounds` rounds."""
    exchange, transport = connected
    for _ in range(500):
        await exchange()
    best = float("inf")
    for _ in range(rounds):
        transport.written.clear()  # what a round writes is kept until the next one
        started = time.process_time()
        for _ in range(requests):
            await exchange()
        best = min(best, (time.process_time() - started) / requests * 1e6)
    return best


class _LaneOff(GuardedHttpToolsProtocol):
    def _may_hold(self) -> bool:
        return False


async def run(requests: int, rounds: int) -> None:
    name, _slugs, _key = await create_seeded(SERVER_URL, 200)
    try:
        settings = Settings.from_env()
        config_dict = log_config(
            settings.log_level, repeat_interval=settings.log_repeat_interval_seconds
        )
        logging.config.dictConfig(config_dict)
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(io.StringIO())  # the lines are formatted and written, unread
        app = create_app(settings, database_url=with_database(SERVER_URL, name))
        async with LifespanManager(app) as manager:
            state: dict[str, Any] = manager._state
            options = uvicorn_options(settings)
            config = Config(app, log_config=None, **options)
            config.load()
            warm, transport = connection(GuardedHttpToolsProtocol, config, state)
            await warm()  # the app answers once (head, then body), and the cache keeps it
            answer = transport.written[-1]
            ours = await measure(
                connection(GuardedHttpToolsProtocol, config, state), requests, rounds
            )
            lane_off = await measure(connection(_LaneOff, config, state), requests, rounds)
            floor_config = Config(floor_app({BODY: answer}), log_config=None)
            floor_config.load()
            access = logging.getLogger("uvicorn.access")
            access.disabled = True  # the floor runs without an access log
            try:
                floor = await measure(
                    connection(HttpToolsProtocol, floor_config, {}), requests, rounds
                )
            finally:
                access.disabled = False
    finally:
        await drop(SERVER_URL, [name])
    today = time.strftime("%Y-%m-%d")
    print(f"\nCPU per cached POST through uvicorn's protocol, in process ({today})")
    print("| server | µs per request | x the floor (throughput) |")
    print("| --- | ---: | ---: |")
    for label, micros in (
        ("ours (default settings)", ours),
        ("ours, the connection's lane off", lane_off),
        ("floor (bench/floor.py, no access log)", floor),
    ):
        print(f"| {label} | {micros:.1f} | {floor / micros:.2f} |")
    print(f"\nCommand: `python -m bench.connection --requests {requests} --rounds {rounds}`")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    uvloop.run(run(args.requests, args.rounds))


if __name__ == "__main__":
    main()
