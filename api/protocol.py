"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/): the protocol part.

- Content negotiation: `application/graphql-response+json` when the client names it at the
  highest q it gives (also on a tie with `application/json`), with the spec's 4xx codes for
  requests that fail before execution; `application/json` (always 200 for a well-formed
  request) for clients that prefer it, for `*/*` alone and when no Accept is sent.
- GET for queries; POST with `Content-Type: application/json` only (415 otherwise), the body
  capped at MAX_BODY_BYTES (413), one operation per request (batching is off).
- Request strings holding NUL are refused once here, for every field.

What runs a request once it is read (persisted queries, plans, the schema) is api/execution.py.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from api.http_errors import (
    BadRequestError,
    BatchingNotSupportedError,
    PayloadTooLargeError,
    UnreadableValueError,
    UnsupportedMediaTypeError,
)

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
_MEDIA_TYPES = (GRAPHQL_RESPONSE_JSON, APPLICATION_JSON)
# The scope key of a POST body read in full before the handler (by the express lane).
BODY_READ = "jobwizard.body"


class Params(NamedTuple):
    # A named tuple rather than a frozen dataclass: one is made for every request (two for a
    # lifted one), and a frozen dataclass sets each field through object.__setattr__.
    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header; None when nothing we speak is acceptable."""
    if not accept:
        return APPLICATION_JSON
    if len(accept) > _MEMO_MAX_ACCEPT:
        return _negotiate(accept)
    return _negotiate_memo(accept)


# Clients send a handful of distinct Accept values, each on every request: the answer is
# remembered per value (bounded in count and in the length of a value remembered).
_MEMO_MAX_ACCEPT = 256


def _negotiate(accept: str) -> str | None:
    if not accept.strip():
        return APPLICATION_JSON
    best: tuple[float, int, int] | None = None
    chosen: str | None = None
    for preference, media_type in enumerate(reversed(_MEDIA_TYPES)):
        kind = media_type.partition("/")[0]
        quality, specificity = 0.0, -1
        for item in accept.split(","):
            range_, *params = (part.strip() for part in item.split(";"))
            range_ = range_.lower()
            q = 1.0
            for param in params:
                name, _, value = param.partition("=")
                if name.strip().lower() == "q":
                    try:
                        q = float(value)
                    except ValueError:
                        q = 0.0
            if range_ == media_type:
                level = 2
            elif range_ == f"{kind}/*":
                level = 1
            elif range_ == "*/*":
                level = 0
            else:
                continue
            if level > specificity:  # the most specific matching range decides (RFC 9110)
                quality, specificity = q, level
        if quality <= 0:
            continue
        # On a tie between types the client named, the spec's own type wins (urql and Apollo
        # name both at one q); a wildcard alone (curl's `*/*`) keeps the legacy type, whose
        # status is 200 for every well-formed request.
        if specificity < 2:
            preference = -preference
        score = (quality, specificity, preference)
        if best is None or score > best:
            best, chosen = score, media_type
    return chosen


_negotiate_memo = functools.lru_cache(maxsize=256)(_negotiate)


def wants_graphql_ide(request: Request) -> bool:
    """A browser opening /graphql: GET with no query (nor persisted query) asking for HTML."""
    if request.method != "GET":
        return False
    params = request.query_params
    accept = request.headers.get("accept", "")
    return (
        "query" not in params
        and "extensions" not in params
        and ("text/html" in accept or "*/*" in accept)
    )


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:  # a lying or absent Content-Length does not get past the cap
                raise _too_large(limit)
    except ClientDisconnect:
        # The client went (or was cut off for sending too slowly): nobody reads this answer.
        raise BadRequestError("The request body was not received in full.") from None
    return bytes(body)


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"The request body exceeds {limit} bytes.", limit=limit)


def _decode_json(raw: str | bytes, what: str) -> Any:
    try:
        return orjson.loads(raw)
    except (ValueError, UnicodeDecodeError):  # orjson.JSONDecodeError is a ValueError
        raise BadRequestError(f"{what} is not valid JSON.") from None


async def read_params(request: Request, max_body_bytes: int) -> Params:
    return parse_params(request, await read_raw(request, max_body_bytes))


async def read_raw(request: Request, max_body_bytes: int) -> bytes:
    """What the parameters are read from: the query string of a GET, the body of a POST (its
    Content-Type checked). The same bytes always give the same parameters."""
    if request.method == "GET":
        raw: bytes = request.scope["query_string"]
        return raw
    read = request.scope.get(BODY_READ)
    if isinstance(read, bytes):
        # Read whole already, by the express lane (api/express.py), which reads only a body
        # whose Content-Type `json_body_refusal` accepts.
        if len(read) > max_body_bytes:
            raise _too_large(max_body_bytes)
        return read
    refusal = json_body_refusal(request.headers.get("content-type", ""))
    if refusal is not None:
        raise UnsupportedMediaTypeError(refusal)
    return await read_body(request, max_body_bytes)


def json_body_refusal(content_type: str) -> str | None:
    """Why a POST body of this `Content-Type` is refused (415), or None for JSON in UTF-8."""
    media_type, _, parameters = content_type.partition(";")
    if media_type.strip().lower() != APPLICATION_JSON:
        return "Send POST requests as 'Content-Type: application/json'."
    charset = parameters.strip().lower().removeprefix("charset=").strip('"')
    if parameters.strip() and charset not in ("utf-8", "utf8"):
        return "The request body must be UTF-8 encoded."
    return None


def parse_params(request: Request, raw: bytes) -> Params:
    """The parameters of a request from `read_raw`'s bytes."""
    if request.method == "GET":
        query = request.query_params
        data: dict[str, Any] = {
            "query": query.get("query"),
            "operationName": query.get("operationName"),
        }
        for name in ("variables", "extensions"):
            value = query.get(name)
            data[name] = _decode_json(value, f"The '{name}' parameter") if value else None
        return _params(data, check_nul=True)
    body = raw
    if not body or body.isspace():
        raise BadRequestError("The request body is empty.")
    data = _decode_json(body, "The request body")
    if isinstance(data, list):
        raise BatchingNotSupportedError(
            "Batched requests are not supported: send one operation per request."
        )
    if not isinstance(data, dict):
        raise BadRequestError("The request body must be a JSON object.")
    # JSON can only carry a NUL as the escape \u0000: without one in the body (nearly always),
    # no string of the request can hold one, and nothing needs walking.
    return _params(data, check_nul=b"\\u0000" in body)


# A GraphQL string escape for NUL: `\u0000` after an even number (0, 2, ...) of backslashes.
_GRAPHQL_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
NUL_MESSAGE = "Text must not contain the NUL character (U+0000): no field of this API can store it."


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


_EXPECTED: tuple[tuple[str, type], ...] = (
    ("query", str),
    ("operationName", str),
    ("variables", dict),
    ("extensions", dict),
)


def _params(data: Mapping[str, Any], *, check_nul: bool = False) -> Params:
    for name, kind in _EXPECTED:
        value = data.get(name)
        if value is not None and not isinstance(value, kind):
            shape = "a string" if kind is str else "an object"
            raise BadRequestError(f"'{name}' must be {shape} or null.")
    # PostgreSQL text cannot hold NUL: refused here, once for every field, rather than failing
    # deep in a statement (as INTERNAL_SERVER_ERROR) or being stored mangled.
    query = data.get("query")
    if check_nul and (
        _holds_nul(data.get("variables"))
        or _holds_nul(data.get("operationName"))
        or (isinstance(query, str) and ("\x00" in query or _GRAPHQL_NUL_ESCAPE.search(query)))
    ):
        raise UnreadableValueError(NUL_MESSAGE)
    return Params(
        query=query,
        variables=data.get("variables"),
        operation_name=data.get("operationName"),
        extensions=data.get("extensions"),
    )


def error_body(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}


def json_response(
    body: Any, *, status: int, media_type: str, headers: Mapping[str, str] | None = None
) -> Response:
    response = Response(
        orjson.dumps(body),
        status_code=status,
        media_type=f"{media_type}; charset=utf-8",
        headers=dict(headers or {}),
    )
    # The same URL answers with different types depending on Accept; caches must know.
    response.headers["Vary"] = "Accept"
    return response
