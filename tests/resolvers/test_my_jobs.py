"""myJobs: the caller's jobs, newest first, in pages that hold each job once however many are
published meanwhile, at one statement a page (photos batched beside it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tests.support import AppHarness, error_codes
from tests.support.jobs import PUBLISH, publish_input
from tests.support.keys import IssuedKey

MakeKey = Callable[..., Awaitable[IssuedKey]]
MY_JOBS = """
query($first: Int, $after: String, $status: [JobStatus!]) {
  myJobs(first: $first, after: $after, status: $status) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id status photos { id } } }
  }
}
"""
CANCEL = "mutation($id: UUID!) { cancelJob(input: {id: $id}) { job { status } } }"


async def _publish(api: AppHarness, key: IssuedKey, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        body = await api.graphql(PUBLISH, publish_input(), headers=key.headers)
        ids.append(body["data"]["publishJob"]["job"]["id"])
    return ids


async def _page(api: AppHarness, key: IssuedKey, **variables: Any) -> dict[str, Any]:
    body = await api.graphql(MY_JOBS, variables, headers=key.headers)
    assert "errors" not in body, body
    page: dict[str, Any] = body["data"]["myJobs"]
    return page


async def test_forty_five_jobs_by_twenty_each_once_newest_first_under_inserts(
    api: AppHarness, make_api_key: MakeKey
) -> None:
    key, other = await make_api_key("jobs:write"), await make_api_key("jobs:write")
    published = await _publish(api, key, 45)
    seen: list[str] = []
    after = None
    api.statements.clear()
    for number in range(3):
        page = await _page(api, key, first=20, after=after)
        if number == 0:
            assert page["totalCount"] == 45
            await _publish(api, key, 3)  # newer than the cursor: never in the later pages
        seen += [edge["node"]["id"] for edge in page["edges"]]
        after = page["pageInfo"]["endCursor"]
        assert page["pageInfo"]["hasNextPage"] is (number < 2)
    assert seen == list(reversed(published))
    # One statement a page, the total in it; the photos of a page in one more.
    assert len(api.statements.matching("LEFT JOIN LATERAL")) == 3
    assert len(api.statements.matching("FROM uploads WHERE job_id = ANY")) == 3

    assert await _page(api, other) == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }


async def test_status_filter_and_bounds(api: AppHarness, make_api_key: MakeKey) -> None:
    key = await make_api_key("jobs:write")
    first, second = await _publish(api, key, 2)
    await api.graphql(CANCEL, {"id": first}, headers=key.headers)
    cancelled = await _page(api, key, status=["CANCELLED"])
    assert [e["node"]["id"] for e in cancelled["edges"]] == [first]
    assert cancelled["totalCount"] == 1
    both = await _page(api, key, status=["PUBLISHED", "CANCELLED"], first=1)
    assert both["totalCount"] == 2
    assert [e["node"]["id"] for e in both["edges"]] == [second]
    for variables in ({"first": 0}, {"first": 101}, {"after": "not-a-cursor"}):
        body = await api.graphql(MY_JOBS, variables, headers=key.headers)
        assert error_codes(body) == ["BAD_USER_INPUT"]
    assert error_codes(await api.graphql(MY_JOBS)) == ["UNAUTHENTICATED"]
