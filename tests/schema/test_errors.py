import logging

import pytest

import db.repository
from tests.support import AppHarness


async def test_unexpected_exception_is_masked_with_request_id_and_logged(
    api: AppHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A bug cannot be produced on demand by a real server, so this one fault is injected.
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret connection string postgres://admin:hunter2@db")

    monkeypatch.setattr(db.repository, "list_categories", broken)
    with caplog.at_level(logging.ERROR, logger="jobwizard.errors"):
        response = await api.client.post("/graphql", json={"query": "{ categories { slug } }"})
    assert response.status_code == 200
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    assert "request id" in error["message"]
    assert "hunter2" in caplog.text
    assert "Traceback" in caplog.text
    assert response.headers["x-request-id"] in caplog.text


async def test_client_request_id_is_echoed(api: AppHarness) -> None:
    response = await api.client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"X-Request-ID": "partner-trace-0001"},
    )
    assert response.headers["x-request-id"] == "partner-trace-0001"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ microService(slug: ", "GRAPHQL_PARSE_FAILED"),
        ("{ microService(slug: 1) { id } }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ nothingHere }", "GRAPHQL_VALIDATION_FAILED"),
    ],
)
async def test_request_errors_carry_codes(api: AppHarness, query: str, code: str) -> None:
    response = await api.client.post("/graphql", json={"query": query})
    assert response.json()["errors"][0]["extensions"]["code"] == code


async def test_bad_variable_is_bad_user_input(api: AppHarness) -> None:
    response = await api.client.post(
        "/graphql",
        json={"query": "query($id: UUID!) { job(id: $id) { id } }", "variables": {"id": "zzz"}},
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_an_explicit_null_for_a_defaulted_argument_is_bad_user_input(
    api: AppHarness, caplog: pytest.LogCaptureFixture
) -> None:
    # Valid as a document (the argument has a default), refused by graphql-core while executing
    # the field: the request's fault, not ours.
    query = 'query($f: Int) { searchServices(text: "tap", first: $f) { score } }'
    with caplog.at_level(logging.ERROR, logger="jobwizard.errors"):
        body = await api.graphql(query, {"f": None})
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "first" in error["message"]
    assert "Traceback" not in caplog.text
