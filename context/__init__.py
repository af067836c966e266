"""The per-request GraphQL context: built by the HTTP view for every request, read by resolvers."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry
from starlette.requests import Request
from starlette.responses import Response

from context.auth import RequestAuth
from context.state import AppState
from loaders.dataloaders import Loaders


@dataclass(slots=True)
class Context:
    request: Request
    response: Response
    app: AppState  # shared by every request of this process
    loaders: Loaders  # fresh for this request only
    request_id: str
    auth: RequestAuth  # the caller's API key, looked up on first use, for this request only
    # Cleared by a resolver whose answer must not be kept although its fields are cacheable
    # (a degraded answer, served without what a failing dependency would have added).
    cacheable: bool = True
    # A WebSocket's connection_init payload (where its API key travels); None over HTTP.
    connection_params: dict[str, object] | None = None


Info = strawberry.Info[Context, None]
"""What every resolver receives: the request's context, no root value."""

__all__ = ["AppState", "Context", "Info", "RequestAuth"]
