"""The ceiling for this stack: plain Starlette + asyncpg answering the bench's operations with
the same SQL statement and the same JSON shape as the GraphQL server, but no GraphQL at all.

It dispatches on `operationName` and reads only `variables`; whatever this does per request,
the GraphQL server cannot do less of. Run by bench/run.py: `python -m bench.baseline`.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from config.database import DEFAULT_CATALOGUE_PATH
from db.queries import SELECT_MICRO_SERVICES_BY_SLUGS
from domain.catalogue import Catalogue, load_catalogue

ALIASES = 20


def _service(row: asyncpg.Record | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"id": str(row["id"]), "slug": row["slug"], "name": row["name"]}


async def _by_slug(pool: asyncpg.Pool, slugs: Sequence[str]) -> dict[str, asyncpg.Record]:
    rows = await pool.fetch(SELECT_MICRO_SERVICES_BY_SLUGS, list(dict.fromkeys(slugs)))
    return {row["slug"]: row for row in rows}


def _wizard(catalogue: Catalogue, slug: str, row: asyncpg.Record | None) -> dict[str, Any]:
    spec = catalogue.micro_service(slug)
    assert spec is not None, slug
    return {
        "microId": slug,
        "microUuid": None if row is None else str(row["id"]),
        "questions": [
            {
                "id": q.id,
                "label": q.label,
                "type": q.kind.name,
                "required": q.required,
                "options": [{"value": o.value, "label": o.label} for o in q.options],
            }
            for q in spec.questions
        ],
    }


async def graphql(request: Request) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    catalogue: Catalogue = request.app.state.catalogue
    body = json.loads(await request.body())
    operation, variables = body.get("operationName"), body.get("variables") or {}
    data: dict[str, Any]
    if operation == "One":
        found = await _by_slug(pool, [variables["slug"]])
        data = {"microService": _service(found.get(variables["slug"]))}
    elif operation == "Aliased":
        slugs = [variables[f"s{i}"] for i in range(ALIASES)]
        found = await _by_slug(pool, slugs)
        data = {f"m{i}": _service(found.get(slug)) for i, slug in enumerate(slugs)}
    elif operation == "Slugs":
        slugs = variables["slugs"]
        found = await _by_slug(pool, slugs)
        data = {"microServices": [_service(found[s]) for s in slugs if s in found]}
    elif operation == "Wizard":
        slug = variables["path"][-1]
        found = await _by_slug(pool, [slug])
        data = {"wizardQuestions": _wizard(catalogue, slug, found.get(slug))}
    else:
        return Response('{"errors":[{"message":"unknown operation"}]}', 400)
    return Response(json.dumps({"data": data}), media_type="application/json")


def create_app(database_url: str) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.catalogue = load_catalogue(DEFAULT_CATALOGUE_PATH)
        app.state.pool = await asyncpg.create_pool(database_url, min_size=2, max_size=10)
        try:
            yield
        finally:
            await app.state.pool.close()

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])], lifespan=lifespan)


if __name__ == "__main__":
    uvicorn.run(
        create_app(os.environ["DATABASE_URL"]),
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        log_level="warning",
        access_log=False,
    )
