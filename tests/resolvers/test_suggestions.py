"""searchServices, relatedServices, popularServices and publishJob's customerRef, through the
real app and database."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from app.suggestions import refresh_now
from domain.suggestions import customer_ref_hash
from tests.support import AppHarness, error_codes, running_app
from tests.support.jobs import PUBLISH, publish_input
from tests.support.keys import IssuedKey
from tests.support.proxy import proxy_to

SEARCH = """
query Search($text: String!, $first: Int! = 5) {
  searchServices(text: $text, first: $first) {
    microService { slug } score matchedOn path
  }
}
"""
RELATED = """
query Related($id: UUID!, $first: Int! = 5) {
  relatedServices(microUuid: $id, first: $first) { microService { slug } score matchedOn }
}
"""
POPULAR = """
query Popular($area: String, $days: Int! = 30, $first: Int! = 10) {
  popularServices(postcodeArea: $area, days: $days, first: $first) {
    microService { slug } jobs
  }
}
"""


@pytest.fixture
async def hybrid_api(database_url: str) -> AsyncIterator[AppHarness]:
    async with running_app(database_url, search_semantic=True) as api:
        assert api.app_state.search is not None
        await api.app_state.search.ready()
        assert api.app_state.search.hybrid
        yield api


async def test_search_finds_the_service_with_its_category_path(hybrid_api: AppHarness) -> None:
    body = await hybrid_api.graphql(SEARCH, {"text": "loo wont flush properly", "first": 3})
    matches = body["data"]["searchServices"]
    assert matches[0] == {
        "microService": {"slug": "toilet-repair"},
        "score": matches[0]["score"],
        "matchedOn": "loo",
        "path": ["Plumbing", "Plumbing repairs"],
    }
    assert 0 < matches[0]["score"] <= 1
    assert len(matches) <= 3


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("boilr servise", "boiler-service"),
        ("fuse box keeps tripping", "electrical-fault-finding"),
        ("move out cleaning to get deposit back", "end-of-tenancy-cleaning"),
    ],
)
async def test_search_through_the_api(hybrid_api: AppHarness, text: str, slug: str) -> None:
    body = await hybrid_api.graphql(SEARCH, {"text": text})
    assert slug in [m["microService"]["slug"] for m in body["data"]["searchServices"][:2]]


async def test_search_on_keywords_alone_when_the_model_is_off(api: AppHarness) -> None:
    assert api.app_state.search is not None
    assert not api.app_state.search.hybrid
    body = await api.graphql(SEARCH, {"text": "dripping tap", "first": 1})
    assert body["data"]["searchServices"][0]["microService"]["slug"] == "tap-repair-replacement"


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
async def test_blank_text_finds_nothing(api: AppHarness, text: str) -> None:
    body = await api.graphql(SEARCH, {"text": text})
    assert body == {"data": {"searchServices": []}}


async def test_long_text_is_cut_not_refused(api: AppHarness) -> None:
    body = await api.graphql(SEARCH, {"text": "new combi boiler " + "please " * 200})
    assert body["data"]["searchServices"][0]["microService"]["slug"].startswith("boiler-")


@pytest.mark.parametrize("first", [0, 21, -3])
async def test_first_out_of_bounds_is_bad_user_input(api: AppHarness, first: int) -> None:
    for query, variables in (
        (SEARCH, {"text": "boiler", "first": first}),
        (RELATED, {"id": "00000000-0000-0000-0000-000000000000", "first": first}),
        (POPULAR, {"first": first}),
    ):
        body = await api.graphql(query, variables)
        assert error_codes(body) == ["BAD_USER_INPUT"], body


async def test_nul_in_the_text_is_refused(api: AppHarness) -> None:
    response = await api.client.post(
        "/graphql", json={"query": SEARCH, "variables": {"text": "tap\u0000"}}
    )
    assert response.status_code == 400


async def test_a_retired_service_is_not_suggested(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE micro_services SET active = false WHERE slug = 'oven-cleaning'")
        # Not re-seeded at start: the seed would make every service of the file active again.
        async with running_app(database_url, seed_on_start=False) as api:
            body = await api.graphql(SEARCH, {"text": "oven cleaning", "first": 5})
        slugs = [m["microService"]["slug"] for m in body["data"]["searchServices"]]
        assert slugs
        assert "oven-cleaning" not in slugs
    finally:
        await conn.execute("UPDATE micro_services SET active = true WHERE slug = 'oven-cleaning'")
        await conn.close()


async def test_customer_ref_is_stored_hashed_with_the_key(
    api: AppHarness, jobs_writer_key: IssuedKey, database_url: str
) -> None:
    variables = publish_input()
    variables["input"]["customerRef"] = "crm-000042"
    body = await api.graphql(PUBLISH, variables, headers=jobs_writer_key.headers)
    job_id = body["data"]["publishJob"]["job"]["id"]
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetchval("SELECT customer_ref_hash FROM jobs WHERE id = $1", job_id)
    finally:
        await conn.close()
    expected = hmac.new(jobs_writer_key.id.bytes, b"crm-000042", hashlib.sha256).hexdigest()
    assert stored == expected == customer_ref_hash(jobs_writer_key.id, "crm-000042")


@pytest.mark.parametrize("ref", ["", "   ", "x" * 101])
async def test_a_bad_customer_ref_is_refused_and_nothing_stored(
    api: AppHarness, jobs_writer_key: IssuedKey, database_url: str, ref: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        before = await conn.fetchval("SELECT count(*) FROM jobs")
        variables = publish_input()
        variables["input"]["customerRef"] = ref
        body = await api.graphql(PUBLISH, variables, headers=jobs_writer_key.headers)
        assert error_codes(body) == ["BAD_USER_INPUT"]
        assert await conn.fetchval("SELECT count(*) FROM jobs") == before
    finally:
        await conn.close()


async def _insert_job(
    conn: asyncpg.Connection, slug: str, customer: str, area: str | None, days_ago: int
) -> None:
    await conn.execute(
        """
        INSERT INTO jobs (micro_id, micro_uuid, answers, created_at, customer_ref_hash,
                          postcode_area)
        SELECT slug, id, '{}'::jsonb, $2, $3, $4 FROM micro_services WHERE slug = $1
        """,
        slug,
        datetime.now(UTC) - timedelta(days=days_ago),
        hashlib.sha256(customer.encode()).hexdigest(),
        area,
    )


async def test_related_and_popular_from_refreshed_rollups(
    api: AppHarness, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        for n in range(4):  # four customers follow squirrel removal with bird proofing
            await _insert_job(conn, "squirrel-removal", f"rs{n}", "ZE", 30)
            await _insert_job(conn, "bird-proofing", f"rs{n}", "ZE", 2)
        ids = {r["slug"]: r["id"] for r in await conn.fetch("SELECT slug, id FROM micro_services")}
    finally:
        await conn.close()
    async with api.app_state.pool.acquire() as pooled:
        await refresh_now(pooled, api.app_state.settings, full=True)

    related = await api.graphql(RELATED, {"id": str(ids["squirrel-removal"]), "first": 3})
    rows = related["data"]["relatedServices"]
    assert rows[0]["microService"]["slug"] == "bird-proofing"
    assert rows[0]["matchedOn"] == "customers who posted this also posted"
    assert rows[0]["score"] > 0
    # Then the rest of its subcategory, in wizard order (bird proofing is not listed twice).
    fill_ins = [(r["microService"]["slug"], r["matchedOn"]) for r in rows[1:]]
    assert fill_ins[0] == ("rat-mouse-control", "same subcategory")
    assert {reason for _, reason in fill_ins} == {"same subcategory"}
    assert "bird-proofing" not in {slug for slug, _ in fill_ins}

    popular = await api.graphql(POPULAR, {"area": "ze", "days": 7})
    assert popular["data"]["popularServices"] == [
        {"microService": {"slug": "bird-proofing"}, "jobs": 4}
    ]
    month = await api.graphql(POPULAR, {"area": "ZE", "days": 31, "first": 1})
    assert len(month["data"]["popularServices"]) == 1


@pytest.mark.parametrize(
    "variables", [{"area": "SW1A"}, {"area": "12"}, {"days": 0}, {"days": 366}]
)
async def test_popular_bad_area_or_days_is_bad_user_input(
    api: AppHarness, variables: dict[str, Any]
) -> None:
    assert error_codes(await api.graphql(POPULAR, variables)) == ["BAD_USER_INPUT"]


async def test_suggestions_with_the_database_down_are_service_unavailable(
    database_url: str,
) -> None:
    async with (
        proxy_to(database_url) as proxy,
        running_app(proxy.url_for(database_url), cache_warm_up=False) as api,
    ):
        await proxy.refuse()
        for query, variables in (
            (RELATED, {"id": "00000000-0000-0000-0000-000000000000"}),
            (POPULAR, {}),
        ):
            body = await api.graphql(query, variables)
            assert error_codes(body) == ["SERVICE_UNAVAILABLE"], body
            assert "asyncpg" not in str(body)


async def test_suggestions_record_no_lookup_events(api: AppHarness) -> None:
    """The slugs of suggestions are the server's choice, not a caller's lookup: counting them
    would skew the lookup statistics (and popularity) towards whatever was suggested."""
    events = api.app_state.events
    assert events is not None
    count = "SELECT count(*) FROM analytics_events WHERE event_properties->>'slug' = $1"
    slug = "tap-repair-replacement"
    pool = api.app_state.pool
    await events.flush()
    before = await pool.fetchval(count, slug)
    body = await api.graphql(SEARCH, {"text": "dripping tap", "first": 3})
    assert slug in [m["microService"]["slug"] for m in body["data"]["searchServices"]]
    await events.flush()
    assert await pool.fetchval(count, slug) == before
    # A lookup by slug is recorded, through the same loader machinery.
    looked_up = await api.graphql(
        "query($s: String!) { microService(slug: $s) { slug } }", {"s": slug}
    )
    assert looked_up["data"]["microService"] == {"slug": slug}
    await events.flush()
    assert await pool.fetchval(count, slug) == before + 1
