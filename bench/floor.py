"""The floor for cached operations: a plain Starlette app on the same uvicorn (same options as
our server's) handing out the very response bytes our server gave for each request body.

No GraphQL, no cache, no database: a dictionary lookup by request body and the bytes. Whatever
this costs per request is the least any server on this stack can cost. `FLOOR_RESPONSES` names
a JSON file of [request body, response body] pairs, written by bench/run.py from our server's
own answers. Run by bench/run.py: `python -m bench.floor`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def create_app(responses: dict[bytes, bytes]) -> Starlette:
    async def graphql(request: Request) -> Response:
        answer = responses.get(await request.body())
        if answer is None:
            return Response(b'{"errors":[{"message":"unknown request"}]}', 400)
        return Response(answer, media_type="application/json")

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])


def load(path: Path) -> dict[bytes, bytes]:
    pairs = json.loads(path.read_text(encoding="utf-8"))
    return {request.encode(): response.encode() for request, response in pairs}


if __name__ == "__main__":
    # Our server's own options (ops/cli.py `serve`): uvicorn picks uvloop and httptools.
    uvicorn.run(
        create_app(load(Path(os.environ["FLOOR_RESPONSES"]))),
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        log_level=os.environ.get("LOG_LEVEL", "warning").lower(),
    )
