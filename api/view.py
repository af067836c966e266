"""The GraphQL HTTP view: builds each request's context, with fresh DataLoaders."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from api.execution import serve
from api.request_id import request_id_for
from api.web import graphiql_page
from context import AppState, Context
from context.auth import RequestAuth, bearer_token
from loaders.dataloaders import Loaders


class GraphQLView(GraphQL[Context, None]):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # HTTP goes through our GraphQL-over-HTTP handler (protocol: api/protocol.py; APQ,
        # plans and execution: api/execution.py); anything else stays Strawberry's.
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        response = await serve(self, Request(scope, receive))
        await response(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        # Strawberry's own page loads React and GraphiQL from a CDN; ours is self-hosted.
        return graphiql_page()

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        state: AppState = request.state.app_state
        request_id = request_id_for(request)
        if isinstance(response, Response):
            response.headers["X-Request-ID"] = request_id
        return Context(
            request=request,  # type: ignore[arg-type]  # no websocket routes are mounted
            response=response,  # type: ignore[arg-type]
            app=state,
            loaders=Loaders.create(state.pool, state.lookup),
            request_id=request_id,
            auth=RequestAuth(state.pool, bearer_token(request.headers), state.keys),
        )
