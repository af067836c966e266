"""One request header's value, read off the raw header list.

Starlette's `Headers.get` finds that a header is missing by raising KeyError and catching it
inside `Mapping.get`; most requests lack some of the headers every request is asked for
(Accept, X-Request-ID, Authorization for an anonymous caller, Accept-Encoding), and an exception
per missing header costs a lookup more than the lookup's own cache read. Names are given as
ASGI has them: lower-case bytes. In the context layer, so that the request's context (its
bearer token) and the API layer above both read headers through it."""

from __future__ import annotations

from starlette.datastructures import Headers


def header(headers: Headers, name: bytes) -> str | None:
    """The first value of header `name` (lower-case), or None when the request has none."""
    for key, value in headers.raw:
        if key == name:
            return value.decode("latin-1")
    return None
