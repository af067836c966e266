"""The per-request GraphQL context."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry
from starlette.requests import Request
from starlette.responses import Response

from api.auth import RequestAuth
from api.services import Services
from loaders.dataloaders import Loaders


@dataclass(slots=True)
class Context:
    request: Request
    response: Response
    services: Services
    loaders: Loaders  # fresh for this request only
    request_id: str
    auth: RequestAuth  # the caller's API key, looked up on first use, for this request only


Info = strawberry.Info[Context, None]
"""What every resolver receives: the request's context, no root value."""
