"""Bench-only: what a thin Starlette endpoint calling `schema.execute` directly would save
versus Strawberry's HTTP view. Same app, same schema, context, loaders and lifespan; only the
POST /graphql route is replaced by `lean_graphql` (JSON POST only: enough to measure, not the
full GraphQL-over-HTTP behaviour, which the real view keeps).

    python -m bench.lean             (DATABASE_URL, PORT; LEAN_JSON=json for stdlib encoding)
    BENCH_SYSTEMS=ours,lean python -m bench.run
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import orjson
import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth import RequestAuth, bearer_token
from api.context import Context
from api.services import Services
from api.settings import Settings
from api.view import request_id_for
from loaders.dataloaders import Loaders
from schema import schema
from server import create_app

_dumps: Callable[[Any], bytes] = (
    (lambda value: json.dumps(value).encode())
    if os.environ.get("LEAN_JSON") == "json"
    else orjson.dumps
)


async def lean_graphql(request: Request) -> Response:
    services: Services = request.state.services
    body = orjson.loads(await request.body())
    request_id = request_id_for(request)
    response = Response(media_type="application/json")
    context = Context(
        request=request,
        response=response,
        services=services,
        loaders=Loaders.create(services.pool, services.lookup),
        request_id=request_id,
        auth=RequestAuth(services.pool, bearer_token(request.headers)),
    )
    result = await schema.execute(
        body.get("query"),
        variable_values=body.get("variables"),
        context_value=context,
        operation_name=body.get("operationName"),
    )
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    response.body = _dumps(payload)
    response.headers["content-length"] = str(len(response.body))
    response.headers["X-Request-ID"] = request_id
    return response


def main() -> None:
    settings = Settings.from_env()
    app = create_app(settings, database_url=os.environ["DATABASE_URL"])
    app.router.routes.insert(0, Route("/graphql", lean_graphql, methods=["POST"]))
    uvicorn.run(app, host="127.0.0.1", port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
