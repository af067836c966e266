"""What one GraphQL-over-HTTP request carries through the execution steps (api/execution.py):
filled in step by step, read by the steps after."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response
from strawberry.schema import BaseSchema

from api.plans import Plan
from api.protocol import APPLICATION_JSON, Params
from api.response_cache import Lookup
from api.state import HttpState
from context import Context

# The lifespan state's key for the view (api/app.py): the connection's lane serves through it.
VIEW_KEY = "graphql_view"


class HTTPView(Protocol):
    """What the handler needs from the Strawberry view."""

    schema: BaseSchema

    @property
    def graphql_ide(self) -> Any: ...

    async def get_sub_response(self, request: Request) -> Response: ...

    async def get_context(self, request: Request, response: Response) -> Context: ...

    async def render_graphql_ide(self, request: Request) -> Response: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """An executed request's answer before it becomes a response."""

    body: dict[str, Any]
    status: int
    kept: Lookup | None  # where to keep it in the response cache; None: not to be kept


@dataclass(slots=True)
class RequestState:
    """One request on its way through the steps. Fields without a default are set by the step
    that works them out (`params` by parsing, `sub_response` and `context` before the rate
    limit); a later step may read them."""

    view: HTTPView
    request: Request
    http: HttpState
    negotiated: str | None  # the response media type; None when nothing acceptable was asked
    raw: bytes = b""  # a GET's query string or a POST's body, as the client sent them
    params: Params = field(init=False)
    query: str = ""  # the document: as sent, or found by its persisted-query hash
    # The document and parameters as sent, when its literals were lifted into variables
    # (api/plans/literals.py): `query` and `params` are then the lifted ones.
    sent: str | None = None
    sent_params: Params | None = None
    registering: str | None = None  # the hash a request sends its document with, to register
    # The document parsed and validated (an answer came from the cache, a plan or an execution
    # without request errors): only then is it registered as a persisted query.
    validated: bool = False
    version: int = 0  # the catalogue version the response cache is consulted under
    lookup: Lookup | None = None  # the request's place in the response cache, when cacheable
    sub_response: Response = field(init=False)
    context: Context = field(init=False)
    plan: Plan | None = None
    outcome: Outcome | None = None

    @property
    def media_type(self) -> str:
        return self.negotiated or APPLICATION_JSON

    @property
    def get(self) -> bool:
        return self.request.method == "GET"
