"""What a signed-in customer costs per request, beside an API key: `python -m bench.tokens`.

CPU time of this process per request or call, not wall time (see `_timed`).

- Through the whole app, in process (httpx's ASGI transport: no sockets, so the differences are
  not drowned in network time; the client's CPU is counted too): one lookup answered from the
  lookup cache, anonymous, with an API key (the key cache's verdict) and with a customer's
  access token (the verified-token cache); rate limits on, with budgets too large to refuse,
  so their cost is counted. Short rounds alternate between the three; the fastest round of
  each is reported (the one least disturbed by whatever else the machine runs), and the median
  beside it.
- Raw verification of the same RS256 token from the development provider: a token seen before
  (its SHA-256 looked up) and one checked in full (parse, claims, signature).

Needs a PostgreSQL: BENCH_DATABASE_URL (a maintenance database URL), else 127.0.0.1:5432. A
database of its own is created and dropped.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable

import asyncpg
import httpx

from config.database import DEFAULT_CATALOGUE_PATH
from context.jwks import IssuerKeys
from context.tokens import TokenVerifier
from domain.catalogue import load_catalogue
from tests.support import (
    create_database,
    drop_database,
    prepare_database,
    running_app,
    with_database,
)
from tests.support.identity import running_issuer
from tests.support.keys import issue_api_key

LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
LOOKUP = {"query": '{ microService(slug: "wall-painting") { id slug } }'}
UNLIMITED = {
    "rate_limit_anonymous": 10**9,
    "rate_limit_per_key": 10**9,
    "rate_limit_per_customer": 10**9,
}
ROUNDS = 21
PER_ROUND = 300
VERIFY_CALLS = 5000


async def _timed(call: Callable[[], Awaitable[object]], n: int) -> float:
    """This process's CPU microseconds per call, over `n` calls: CPU rather than wall time, so
    that other processes on the machine do not count (nothing here waits on I/O but the
    client's own in-process transport)."""
    start = time.process_time()
    for _ in range(n):
        await call()
    return (time.process_time() - start) / n * 1e6


async def through_the_app(url: str, issuer_url: str, token: str) -> dict[str, list[float]]:
    conn = await asyncpg.connect(url)
    try:
        key = await issue_api_key(conn, name="bench", scopes=["jobs:read"])
    finally:
        await conn.close()
    variants = {
        "anonymous": {},
        "API key": key.headers,
        "customer token": {"Authorization": f"Bearer {token}"},
    }
    rounds: dict[str, list[float]] = {name: [] for name in variants}
    async with running_app(
        url, migrate_on_start=False, seed_on_start=False, oidc_issuer=issuer_url, **UNLIMITED
    ) as api:
        for name, headers in variants.items():
            # The same answer for all three; and the first one warms every cache on the way.
            answered = await api.client.post("/graphql", json=LOOKUP, headers=headers)
            assert answered.status_code == 200
            assert "errors" not in answered.json(), answered.text
            if name == "customer token":  # counted as the customer: the token was verified
                assert answered.headers["RateLimit-Policy"].startswith('"customer"')

        for _ in range(ROUNDS):
            for name, headers in variants.items():

                async def post(headers: dict[str, str] = headers) -> object:
                    return await api.client.post("/graphql", json=LOOKUP, headers=headers)

                rounds[name].append(await _timed(post, PER_ROUND))
    return rounds


async def raw_verification(issuer_url: str, token: str) -> dict[str, float]:
    async with httpx.AsyncClient() as client:
        keys = IssuerKeys(client, issuer=issuer_url)
        remembering = TokenVerifier(keys, issuer=issuer_url, audience="authenticated")
        checking = TokenVerifier(
            keys, issuer=issuer_url, audience="authenticated", cache_max_entries=0
        )
        try:
            assert await remembering.verify(token) is not None
            assert await checking.verify(token) is not None
            return {
                "remembered token": await _timed(lambda: remembering.verify(token), VERIFY_CALLS),
                "full check (RS256)": await _timed(lambda: checking.verify(token), VERIFY_CALLS),
            }
        finally:
            await keys.close()


async def main() -> None:
    server_url = os.environ.get("BENCH_DATABASE_URL", LOCAL_SERVER)
    name = await create_database(server_url, prefix="jw_bench")
    url = with_database(server_url, name)
    try:
        await prepare_database(url, load_catalogue(DEFAULT_CATALOGUE_PATH))
        with running_issuer() as issuer:
            token = issuer.token("bench-customer")
            app = await through_the_app(url, issuer.url, token)
            raw = await raw_verification(issuer.url, token)
    finally:
        await drop_database(server_url, name)
    print(f"per request through the app ({ROUNDS} rounds of {PER_ROUND}): fastest, median")
    for label, rounds in app.items():
        print(f"  {label:<16} {min(rounds):8.1f} µs {statistics.median(rounds):8.1f} µs")
    extra = min(app["customer token"]) - min(app["API key"])
    print(f"  a customer's token costs {extra:+.1f} µs per request beside an API key")
    print(f"verification alone ({VERIFY_CALLS} calls):")
    for label, micros in raw.items():
        print(f"  {label:<20} {micros:8.1f} µs")


if __name__ == "__main__":
    asyncio.run(main())
