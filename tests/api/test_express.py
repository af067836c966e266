"""The express lane (api/express.py): a POST whose bytes the response cache remembers is
answered before the middleware stack, with the bytes and headers the handler gives it; anything
else goes on to the handler with its body intact."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from api.view import GraphQLView
from tests.support import AppHarness, running_app

TREE = "{ categories { slug name subcategories { slug name microServices { id slug name } } } }"
BODY = orjson.dumps({"query": TREE})
ORIGIN = "https://wizard.example"


@pytest.fixture
def handled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the requests that reached the GraphQL view (the lane answers the others)."""
    seen: list[str] = []
    original = GraphQLView.__call__

    async def counting(self: GraphQLView, scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["path"])
        await original(self, scope, receive, send)

    monkeypatch.setattr(GraphQLView, "__call__", counting)
    return seen


async def _post(
    api: AppHarness, *, body: bytes = BODY, headers: dict[str, str] | None = None
) -> httpx.Response:
    sent = {"content-type": "application/json", **(headers or {})}
    return await api.client.post("/graphql", content=body, headers=sent)


def _without_id(response: httpx.Response) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in response.headers.items() if k != "x-request-id")


async def test_a_remembered_request_is_answered_before_the_handler_with_the_same_bytes(
    database_url: str, handled: list[str]
) -> None:
    async with running_app(database_url, migrate_on_start=False, seed_on_start=False) as api:
        first = await _post(api)  # the handler answers, and the cache remembers the bytes
        assert handled == ["/graphql"]
        again = await _post(api, headers={"x-request-id": "client-chosen-id-1"})
        assert handled == ["/graphql"]  # the lane answered
        assert again.status_code == first.status_code == 200
        assert again.content == first.content
        assert _without_id(again) == _without_id(first)
        assert again.headers["x-request-id"] == "client-chosen-id-1"
        fresh = await _post(api)
        assert fresh.headers["x-request-id"] not in (again.headers["x-request-id"], "")
        # Compressed as the handler compresses it.
        handler = await _post(api, body=BODY + b" ", headers={"accept-encoding": "gzip"})
        lane = await _post(api, body=BODY + b" ", headers={"accept-encoding": "gzip"})
        assert handled == ["/graphql"] * 2
        assert lane.headers["content-encoding"] == handler.headers["content-encoding"] == "gzip"
        assert lane.content == handler.content


async def test_what_the_lane_does_not_answer_exactly_reaches_the_handler(
    database_url: str, handled: list[str]
) -> None:
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, cors_origins=(ORIGIN,)
    ) as api:
        assert (await _post(api)).status_code == 200
        handled.clear()
        # Another content type: refused by the handler as ever, whatever the cache holds.
        refused = await _post(api, headers={"content-type": "text/plain"})
        assert refused.status_code == 415
        # A browser's request: the CORS middleware adds its headers.
        browser = await _post(api, headers={"origin": ORIGIN})
        assert browser.headers["access-control-allow-origin"] == ORIGIN
        # Nothing we speak is acceptable: 406 from the handler.
        assert (await _post(api, headers={"accept": "text/html"})).status_code == 406
        # Bytes the cache does not remember: the handler reads the very body the lane read.
        other = orjson.dumps({"query": "{ categories { slug } }"})
        answered = await _post(api, body=other)
        assert answered.status_code == 200
        assert answered.json()["data"]["categories"]
        assert handled == ["/graphql"] * 4


async def test_without_the_response_cache_every_request_reaches_the_handler(
    database_url: str, handled: list[str]
) -> None:
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, response_cache=False
    ) as api:
        for _ in range(3):
            assert (await _post(api)).status_code == 200
        assert handled == ["/graphql"] * 3
