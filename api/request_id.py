"""The request id every /graphql answer carries as `X-Request-ID`."""

from __future__ import annotations

import re
import uuid

from starlette.requests import HTTPConnection

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id_for(request: HTTPConnection) -> str:
    """The caller's `X-Request-ID` when it is sane, so traces join up; otherwise a new one."""
    given = request.headers.get("x-request-id", "")
    return given if _CLIENT_REQUEST_ID.match(given) else uuid.uuid4().hex
