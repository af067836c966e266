"""The ASGI app's HTTP side: routes, middleware and the GraphQL view. What its requests share
is built by the lifespan the composition root (app/root.py) passes in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from api.auth_config import auth_config
from api.cors import cors_middleware
from api.express import express, expressible
from api.health import health
from api.metrics import metrics
from api.request_id import RequestIdMiddleware
from api.request_state import VIEW_KEY
from api.uploads import media, upload
from api.view import GraphQLView
from api.web import web_routes
from config import Settings
from schema import schema

Lifespan = Callable[[Starlette], AbstractAsyncContextManager[dict[str, Any]]]


class App(Starlette):
    """The app, with two lanes in front of its middleware for POSTs to /graphql, the bulk of
    the traffic: the express lane (api/express.py) answers a request the response cache
    remembers; the others without an `Origin` (not a browser's: CORS has nothing to add) go
    to the view behind the request-id middleware alone, skipping the error and exception
    middleware and the router, which have nothing to do for them (the view answers its own
    faults, and uvicorn answers 500 for a crash as the error middleware would)."""

    def __init__(self, view: GraphQLView, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.view = view
        self._direct = RequestIdMiddleware(view)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not expressible(scope):
            await super().__call__(scope, receive, send)
            return
        rest = await express(self.view, scope, receive, send)
        if rest is not None:
            scope["app"] = self
            await self._direct(scope, rest, send)


def http_app(settings: Settings, lifespan: Lifespan) -> Starlette:
    view = GraphQLView(
        schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        allowed_origins=settings.cors_origins,
    )
    return App(
        view,
        routes=[
            # Every method reaches the view, so that PUT and friends get a GraphQL-shaped 405
            # with its code rather than Starlette's plain-text one.
            Route("/graphql", view),
            # Subscriptions (graphql-transport-ws); the view checks the Origin against
            # CORS_ORIGINS before accepting.
            WebSocketRoute("/graphql", view),
            Route("/health", health, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/auth/config", auth_config, methods=["GET"]),
            Route("/uploads", upload, methods=["POST"]),
            Route("/media/{id}", media, methods=["GET"]),
            Route("/media/{id}/thumb", media, methods=["GET"]),
            *web_routes(settings),
        ],
        lifespan=_with_view(lifespan, view),
        middleware=[Middleware(RequestIdMiddleware), *cors_middleware(settings)],
    )


def _with_view(lifespan: Lifespan, view: GraphQLView) -> Lifespan:
    """`lifespan`, its state carrying the view, for the connection's lane
    (api/connection_lane.py) to serve the requests it holds through."""

    @asynccontextmanager
    async def lifespan_with_view(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with lifespan(app) as state:
            yield {**state, VIEW_KEY: view}

    return lifespan_with_view
