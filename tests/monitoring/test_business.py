"""The dashboard's business view: what a publish, an upload and a search leave in it, read back
through `businessStats`; and what it never keeps (values, personal data)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from domain.business import rejected_field_labels, unmatched_search_text
from monitoring import metrics
from tests.support.jobs import PUBLISH, publish_input
from tests.support.keys import IssuedKey
from tests.support.uploads import running_upload_app, upload_files

MakeKey = Callable[..., Awaitable[IssuedKey]]
STATS = """
{ businessStats(windowMinutes: 60, top: 50) {
    jobsPublished jobsRejected jobsCancelled jobsExpired
    rejectedFields { label count } uploadsRefused { label count }
    searchesWithoutMatch unmatchedSearches { label count }
    webhooksPending webhooksFailed webhookOldestPendingSeconds } }
"""
SEARCH = "query($t: String!) { searchServices(text: $t) { microService { slug } } }"


def test_search_texts_keep_no_personal_data_and_stay_short() -> None:
    assert unmatched_search_text("  Fix my  JACUZZI!!  ") == "fix my jacuzzi"
    assert unmatched_search_text("call jane@example.com") is None
    assert unmatched_search_text("ring 07700 900123 about the roof") is None
    assert unmatched_search_text("gutter at SW1A 1AA") is None
    assert unmatched_search_text("gutter in SW1A") == "gutter in sw1a"  # an area, not a home
    assert unmatched_search_text("?!") is None
    long = unmatched_search_text("word " * 40)
    assert long is not None
    assert len(long) <= 60
    assert not long.endswith(" ")


def test_field_labels_are_names_the_server_knows() -> None:
    labels = rejected_field_labels(
        ["postcode", "contact.email", "wall_count", "jane.smith@example"], ["wall_count"]
    )
    assert labels == {"postcode", "contact.email", "wall_count", "other"}


def _count(items: list[dict[str, Any]], label: str) -> int:
    return next((item["count"] for item in items if item["label"] == label), 0)


async def test_publishes_uploads_and_searches_reach_the_business_view(
    database_url: str, make_api_key: MakeKey
) -> None:
    writer = await make_api_key("jobs:write")
    async with running_upload_app(database_url) as harness:
        app = harness.harness
        before = (await app.ops_graphql(STATS))["data"]["businessStats"]
        rejected_metric = metrics.JOBS_REJECTED._value.get()
        ok = await app.graphql(PUBLISH, publish_input(), headers=writer.headers)
        assert "errors" not in ok, ok
        bad = await app.graphql(
            PUBLISH, publish_input(wall_count=-3, room_type="nope"), headers=writer.headers
        )
        assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        refused = await app.client.post(
            "/uploads", files=upload_files(b"not an image at all"), headers=writer.headers
        )
        assert refused.status_code == 415, refused.text
        anonymous = await app.client.post("/uploads", files=upload_files(b"x"))
        assert anonymous.status_code == 401
        for text in ("zzqx flurbo qwplk", "qwplk@zzqx.org zzqx"):
            found = await app.graphql(SEARCH, {"t": text})
            assert found["data"]["searchServices"] == [], found
        await app.app_state.business.flush(app.app_state.pool)
        after = (await app.ops_graphql(STATS))["data"]["businessStats"]

    assert metrics.JOBS_REJECTED._value.get() == rejected_metric + 1
    assert after["jobsPublished"] == before["jobsPublished"] + 1
    assert after["jobsRejected"] == before["jobsRejected"] + 1
    for field in ("wall_count", "room_type"):
        assert _count(after["rejectedFields"], field) == _count(before["rejectedFields"], field) + 1
    assert _count(after["uploadsRefused"], "UNAUTHENTICATED") >= 1
    assert _count(after["uploadsRefused"], "UNSUPPORTED_IMAGE_FORMAT") >= 1
    assert sum(i["count"] for i in after["uploadsRefused"]) == 2 + sum(
        i["count"] for i in before["uploadsRefused"]
    )
    assert after["searchesWithoutMatch"] == before["searchesWithoutMatch"] + 2
    texts = [item["label"] for item in after["unmatchedSearches"]]
    assert "zzqx flurbo qwplk" in texts
    assert not any("@" in text or "org" in text for text in texts)
    assert after["webhooksPending"] >= 0
    assert after["webhooksFailed"] >= 0


async def test_the_business_view_needs_an_ops_key(database_url: str) -> None:
    async with running_upload_app(database_url) as harness:
        app = harness.harness
        body = await app.graphql(STATS)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
