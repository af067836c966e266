"""The GraphQL HTTP view: builds each request's context, with fresh DataLoaders."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UnsetType  # no public name for it

from api.execution import serve
from api.request_id import request_id_of
from api.subscriptions import TransportWSHandler, WebSocketAdapter
from api.web import graphiql_page
from context import AppState, Context
from context.auth import RequestAuth, bearer_token
from domain.errors import ServiceUnavailableError, UnauthenticatedError
from loaders.dataloaders import Loaders
from schema.codes import CODES


def connection_token(params: Mapping[str, object]) -> str | None:
    """The bearer (API key or token) of a connection_init payload: `Authorization: Bearer
    <token>` (any case of the name), or None."""
    for name, value in params.items():
        if name.lower() == "authorization" and isinstance(value, str):
            return bearer_token(Headers({"authorization": value}))
    return None


class GraphQLView(GraphQL[Context, None]):
    # graphql-transport-ws with messages checked and the socket's timeouts (api/subscriptions.py).
    graphql_transport_ws_handler_class = TransportWSHandler
    websocket_adapter_class = WebSocketAdapter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # HTTP goes through our GraphQL-over-HTTP handler (protocol: api/protocol.py; APQ,
        # plans and execution: api/execution.py); anything else stays Strawberry's.
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        response = await serve(self, Request(scope, receive))
        await response(scope, receive, send)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """The API key or customer's token of a WebSocket travels in its connection_init
        payload (browsers cannot set headers on one): `{"Authorization": "Bearer <key>"}`. A
        bearer that is presented must be valid, or the connection is refused (close code
        4403)."""
        token = connection_token(context.connection_params or {})
        if token is not None:
            app = context.app
            context.auth = RequestAuth(
                app.pool,
                token,
                app.keys,
                timeout=app.settings.db_statement_timeout_ms / 1000,
                tokens=app.tokens,
            )
            try:
                caller = await context.auth.principal()
            except ServiceUnavailableError:
                raise ConnectionRejectionError(
                    {"code": CODES[ServiceUnavailableError].code}
                ) from None
            if caller is None:
                raise ConnectionRejectionError({"code": CODES[UnauthenticatedError].code})
        return UnsetType()  # acknowledge without a payload

    async def render_graphql_ide(self, request: Request) -> Response:
        # Strawberry's own page loads React and GraphiQL from a CDN; ours is self-hosted.
        return graphiql_page()

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        # Strawberry's: an empty Response whose content-length is then deleted through a
        # MutableHeaders built for that alone. The same response, its headers emptied directly.
        sub_response = Response()
        sub_response.status_code = None  # type: ignore[assignment]  # "not set by a resolver"
        sub_response.raw_headers = []
        return sub_response

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        state: AppState = request.state.app_state
        request_id = request_id_of(request.scope)
        if isinstance(response, Response):
            headers = response.raw_headers
            if all(name != b"x-request-id" for name, _ in headers):  # a second context's
                headers.append((b"x-request-id", request_id.encode("latin-1")))
        return Context(
            request=request,  # type: ignore[arg-type]  # no websocket routes are mounted
            response=response,  # type: ignore[arg-type]
            app=state,
            loaders=Loaders.create(
                state.pool,
                state.lookup,
                statement_timeout=state.settings.db_statement_timeout_ms / 1000,
            ),
            request_id=request_id,
            auth=RequestAuth(
                state.pool,
                bearer_token(request.headers),
                state.keys,
                timeout=state.settings.db_statement_timeout_ms / 1000,
                tokens=state.tokens,
            ),
        )
