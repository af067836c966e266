"""The HTTP client of webhook deliveries: it connects only to public addresses.

The address is checked when each connection is made, not when the URL is saved: the host is
resolved here, every address it resolves to must be public (`domain.webhooks.is_public`), and
the connection goes to the address that was checked. A name that resolves to a public address
when saved and to 169.254.169.254 later (DNS rebinding) is refused then. TLS still verifies the
certificate against the host name (httpcore sends the URL's host as SNI).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpcore
import httpx

from domain.webhooks import is_public


class RefusedAddressError(httpcore.ConnectError):
    """The endpoint's host resolves to an address deliveries may not connect to."""


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, with the host resolved and checked before connecting."""

    def __init__(self, *, allow_private: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout
            )
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve the endpoint's host: {exc}") from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
        if not self._allow_private and not all(is_public(a) for a in addresses):
            raise RefusedAddressError("the endpoint's host resolves to a non-public address")
        error: Exception = httpcore.ConnectError("the endpoint's host has no address")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                error = exc
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks connect over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PublicOnlyTransport(httpx.AsyncHTTPTransport):
    """httpx's transport on a connection pool whose connections go through
    `PublicOnlyBackend`; no proxies from the environment (they would connect instead)."""

    def __init__(self, *, allow_private: bool, max_connections: int) -> None:
        super().__init__()
        # httpx builds its pool without a way to pass a network backend: replaced here with one
        # built the same way, plus the backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            network_backend=PublicOnlyBackend(allow_private=allow_private),
        )


def delivery_client(*, allow_private: bool, max_connections: int) -> httpx.AsyncClient:
    """The client every delivery goes through: no redirects followed, no proxies, no cookies
    kept between partners."""
    return httpx.AsyncClient(
        transport=PublicOnlyTransport(allow_private=allow_private, max_connections=max_connections),
        follow_redirects=False,
        trust_env=False,
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        headers={"user-agent": "jobwizard-webhooks/1"},
    )
