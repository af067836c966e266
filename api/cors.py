"""CORS for browser apps on other origins: only the origins listed in CORS_ORIGINS."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from config import Settings

# What a web app sends: JSON bodies, API keys, idempotency keys, request ids for tracing.
ALLOWED_HEADERS = ("Accept", "Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID")
PREFLIGHT_MAX_AGE = 600  # seconds a browser may reuse a preflight answer


def cors_middleware(settings: Settings) -> list[Middleware]:
    """The CORS middleware, or none when no origin is allowed (same-origin use only)."""
    if not settings.cors_origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=list(ALLOWED_HEADERS),
            expose_headers=["X-Request-ID"],
            max_age=PREFLIGHT_MAX_AGE,
        )
    ]
