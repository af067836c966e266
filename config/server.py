"""Settings of serving HTTP: the address, worker processes, connection deadlines, logs, browsers."""

from __future__ import annotations

import os
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode


class ServerSettings(BaseSettings):
    """Serving HTTP: the address, worker processes, connection deadlines, logs, browsers."""

    host: str = Field("127.0.0.1", description="Interface to bind.")
    port: int = Field(8000, ge=1, le=65535, description="Port to bind.")
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        le=256,
        description="uvicorn worker processes sharing the port (default: the number of cores); "
        "migrations and seed run once in the parent.",
    )
    worker_healthcheck_timeout_seconds: int = Field(
        30,
        ge=1,
        le=600,
        description="With several workers, the parent kills a worker that does not answer its "
        "ping within this long and starts another; a busy machine's new worker needs time to "
        "import and start.",
    )
    shutdown_grace_seconds: float = Field(
        20.0,
        ge=0,
        le=3600,
        description="On SIGTERM (or Ctrl-C) a worker stops accepting, closes WebSockets with "
        "1001 (going away) and idle connections, and gives the requests it has this long to "
        "finish before it cancels them; then it writes its buffered lookup events and stops.",
    )
    connection_idle_timeout_seconds: float = Field(
        5.0,
        ge=0.1,
        le=3600.0,
        description="A connection that sends nothing (before its first request, or between "
        "two) is closed after this long.",
    )
    header_timeout_seconds: float = Field(
        10.0,
        ge=0.1,
        le=3600.0,
        description="Request headers must be complete this long after their first byte.",
    )
    body_timeout_seconds: float = Field(
        30.0,
        ge=0.1,
        le=3600.0,
        description="A request body must be complete this long after its headers.",
    )
    max_header_bytes: int = Field(
        16 * 1024,
        ge=1024,
        le=1024 * 1024,
        description="Largest request line and headers (HTTP 431 above).",
    )
    max_connections: int = Field(
        1000,
        ge=1,
        le=1_000_000,
        description="Concurrent connections (and requests) per worker; past it, new requests "
        "get 503.",
    )
    ws_max_connections: int = Field(
        250,
        ge=1,
        le=1_000_000,
        description="Concurrent WebSockets per worker (at most half of MAX_CONNECTIONS, which "
        "counts them too, so that sockets cannot take every connection from HTTP); past it "
        "the handshake gets 503.",
    )
    ws_max_message_bytes: int = Field(
        64 * 1024,
        ge=1024,
        le=16 * 1024 * 1024,
        description="Largest WebSocket message, its fragments together; a larger one closes the "
        "socket (code 1009) before more than this is buffered.",
    )
    ws_connection_init_timeout_seconds: float = Field(
        5.0,
        ge=0.1,
        le=3600.0,
        description="A WebSocket must send `connection_init` this long after it opens (close "
        "code 4408 otherwise).",
    )
    ws_idle_timeout_seconds: float = Field(
        30.0,
        ge=0.1,
        le=86400.0,
        description="A WebSocket with no subscription (or other operation) running is closed "
        "(code 1000) after this long.",
    )
    log_level: str = Field("INFO", description="Python log level.")
    log_repeat_interval_seconds: float = Field(
        60.0,
        ge=0.0,
        le=86_400.0,
        description="Identical warnings are logged once per interval, with a count of the "
        "others (`0` logs every one).",
    )
    graphiql: bool = Field(
        True, description="Serve the self-hosted GraphiQL to browsers at `GET /graphql`."
    )
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="Comma-separated origins allowed to call the API from browsers."
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="Proxies trusted to set `X-Forwarded-For` (uvicorn's setting): the client "
        "IP that anonymous rate limits count by. Comma-separated IPs or networks, `*` for all.",
    )

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(origin.strip() for origin in value.split(",") if origin.strip())
        return value

    @property
    def ws_connection_cap(self) -> int:
        """WS_MAX_CONNECTIONS, held to half of MAX_CONNECTIONS."""
        return min(self.ws_max_connections, max(1, self.max_connections // 2))
