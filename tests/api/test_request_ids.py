"""Every response carries X-Request-ID, refusals before GraphQL and the other routes included,
and every method on /graphql gets a GraphQL-shaped answer with a code."""

from __future__ import annotations

import os

import pytest

from api.request_id import new_request_id
from tests.support import AppHarness

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("POST", "/graphql", {"content": b"{", "headers": JSON}, 400),
        ("PUT", "/graphql", {"content": b"{}", "headers": JSON}, 405),
        ("DELETE", "/graphql", {}, 405),
        (
            "POST",
            "/graphql",
            {"json": {"query": "{ __typename }"}, "headers": {"Accept": "x/y"}},
            406,
        ),
        ("POST", "/graphql", {"content": b"x" * 200_000, "headers": JSON}, 413),
        ("POST", "/graphql", {"content": b"{}", "headers": {"Content-Type": "text/plain"}}, 415),
        ("GET", "/health", {}, 200),
        ("GET", "/metrics", {}, 200),
        ("GET", "/no-such-page", {}, 404),
    ],
)
async def test_every_response_has_a_request_id(
    api: AppHarness, method: str, path: str, kwargs: dict[str, object], status: int
) -> None:
    response = await api.client.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status
    assert len(response.headers["x-request-id"]) >= 8
    if path == "/graphql":
        assert response.json()["errors"][0]["extensions"]["code"]


async def test_a_sane_client_request_id_is_kept_on_a_refusal(api: AppHarness) -> None:
    response = await api.client.put("/graphql", headers={"X-Request-ID": "trace-12345678"})
    assert response.headers["x-request-id"] == "trace-12345678"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert response.headers["allow"] == "GET, POST"


def test_new_ids_are_unique_and_a_forked_child_draws_its_own() -> None:
    ids = [new_request_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: report one id and leave at once
        os.write(write, new_request_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    in_child = os.read(read, 64).decode()
    os.close(read)
    assert len(in_child) == 32
    assert in_child[:16] != ids[0][:16]  # another process, another prefix


@pytest.mark.parametrize(
    "unsafe",
    [
        "trace-1234\r\nX-Injected: yes",  # header injection
        "trace-1234\nmore",
        "t" * 65,  # over-long
        "t" * 10_000,
        "short",  # too short to be a trace id
        "trace\x00id-1234",  # non-printable
        "trace\x7fid-1234",
        "trace id 1234",
        "trace-ïd-1234",
    ],
)
async def test_an_unsafe_client_request_id_is_replaced_by_a_generated_one(
    api: AppHarness, unsafe: str
) -> None:
    response = await api.client.get("/health", headers=[(b"X-Request-ID", unsafe.encode())])
    assert response.status_code == 200
    echoed = response.headers["x-request-id"]
    assert echoed != unsafe
    assert len(echoed) == 32
    assert int(echoed, 16) >= 0  # one of ours: 32 hex digits
    assert "x-injected" not in response.headers
