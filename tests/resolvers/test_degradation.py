"""What clients see when lookups fail: the documented degraded answers or SERVICE_UNAVAILABLE,
within the budget, never a stack trace. The real app, on the real PostgreSQL, behind a proxy."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import asyncpg
import pytest

from api.invalidation import Invalidation
from tests.support import REDIS_URL, AppHarness, error_codes, running_app, test_settings
from tests.support.jobs import EXAMPLE_LOCATION, WALL_PAINTING_ANSWERS
from tests.support.keys import IssuedKey
from tests.support.polling import eventually
from tests.support.proxy import TcpProxy
from tests.support.resilience import SLUGS

WIZARD = """
query { wizardQuestions(categories: ["painting", "interior", "wall-painting"]) {
  microId microUuid degraded questions { key } } }
"""
MICRO_SERVICES = "query($s: [String!]) { microServices(slugs: $s) { id slug } }"
ONE = 'query { microService(slug: "ceiling-painting") { id slug } }'
PUBLISH = """
mutation($input: PublishJobInput!) { publishJob(input: $input) {
  degraded job { id microId microUuid answers } } }
"""
JOB = "query($id: UUID!) { job(id: $id) { id microId microUuid status } }"
SEARCH = 'query { searchServices(text: "paint the walls", first: 3) { microService { slug } } }'
CATEGORIES = "query { categories { slug subcategories { slug microServices { id slug } } } }"

BASE: dict[str, Any] = {
    "migrate_on_start": False,
    "seed_on_start": False,
    "breaker_reset_seconds": 30.0,
    "lookup_statement_timeout_ms": 300,
}
# The longest a lookup may take with these settings: a retry may start just inside the retry
# budget and then run a whole statement timeout; plus scheduling slack on a shared machine.
SLACK = 0.1
WORST_LOOKUP = (
    test_settings().retry_budget_ms / 1000 + BASE["lookup_statement_timeout_ms"] / 1000 + SLACK
)


async def _outage(proxy: TcpProxy) -> None:
    await proxy.refuse()  # stops listening and cuts every open connection at once


def _no_stack_traces(body: dict[str, Any]) -> None:
    text = json.dumps(body)
    assert "Traceback" not in text
    assert "asyncpg" not in text


async def _publish(api: AppHarness, key: IssuedKey) -> dict[str, Any]:
    return await api.graphql(
        PUBLISH,
        {
            "input": {
                "microId": "wall-painting",
                "answers": WALL_PAINTING_ANSWERS,
                "location": EXAMPLE_LOCATION,
            }
        },
        headers=key.headers,
    )


async def test_warm_cache_serves_lookups_with_the_database_cut_and_zero_sql(
    database_url: str, pg_proxy: TcpProxy
) -> None:
    async with running_app(pg_proxy.url_for(database_url), **BASE) as api:
        api.statements.clear()
        await _outage(pg_proxy)
        body = await api.graphql(MICRO_SERVICES, {"s": list(SLUGS)})
        assert "errors" not in body
        assert [m["slug"] for m in body["data"]["microServices"]] == list(SLUGS)
        wizard = await api.graphql(WIZARD)
        assert wizard["data"]["wizardQuestions"]["microUuid"] is not None
        assert wizard["data"]["wizardQuestions"]["degraded"] is False
        # The category tree is rebuilt from the catalogue file and the warm cache.
        tree = await api.graphql(CATEGORIES)
        assert "errors" not in tree
        served = {
            m["slug"]
            for c in tree["data"]["categories"]
            for s in c["subcategories"]
            for m in s["microServices"]
        }
        assert set(SLUGS) <= served
        assert api.statements.lookups == []
        assert api.statements.statements == []


FILTERED = """
query($c: String, $s: String) { microServices(category: $c, subcategory: $s) {
  id slug category subcategory } }
"""


@pytest.mark.parametrize(
    "variables",
    [{"c": "painting"}, {"c": "painting", "s": "interior"}, {"s": "interior"}],
)
async def test_filtered_micro_services_are_rebuilt_from_the_cache_during_an_outage(
    database_url: str, pg_proxy: TcpProxy, variables: dict[str, str]
) -> None:
    async with running_app(pg_proxy.url_for(database_url), **BASE) as api:
        before = await api.graphql(FILTERED, variables)
        assert "errors" not in before, before
        assert before["data"]["microServices"]  # the filter selects something
        api.statements.clear()
        await _outage(pg_proxy)
        during = await api.graphql(FILTERED, variables)
        assert "errors" not in during, during
        assert during["data"] == before["data"]
        assert api.statements.statements == []


async def test_wizard_serves_questions_degraded_when_the_lookup_is_unavailable(
    database_url: str, pg_proxy: TcpProxy
) -> None:
    async with running_app(pg_proxy.url_for(database_url), cache_warm_up=False, **BASE) as api:
        await _outage(pg_proxy)
        started = time.perf_counter()
        body = await api.graphql(WIZARD)
        assert time.perf_counter() - started < WORST_LOOKUP
        assert "errors" not in body
        wizard = body["data"]["wizardQuestions"]
        assert wizard["degraded"] is True
        assert wizard["microUuid"] is None
        assert {"room_type", "wall_count"} <= {q["key"] for q in wizard["questions"]}


async def test_catalogue_fields_it_cannot_serve_are_service_unavailable_within_the_budget(
    database_url: str, pg_proxy: TcpProxy
) -> None:
    async with running_app(pg_proxy.url_for(database_url), cache_warm_up=False, **BASE) as api:
        assert "errors" not in await api.graphql(MICRO_SERVICES, {"s": [SLUGS[0]]})
        await _outage(pg_proxy)
        for query, variables in ((ONE, None), (CATEGORIES, None)):
            started = time.perf_counter()
            body = await api.graphql(query, variables)
            assert time.perf_counter() - started < WORST_LOOKUP
            assert error_codes(body) == ["SERVICE_UNAVAILABLE"]
            assert body["errors"][0]["extensions"]["retryable"] is True
            _no_stack_traces(body)
        # In one batch, the cached slug is served and only the other field fails.
        both = await api.graphql(
            f'query {{ a: microService(slug: "{SLUGS[0]}") {{ slug }} '
            f'b: microService(slug: "{SLUGS[1]}") {{ slug }} }}'
        )
        assert both["data"] == {"a": {"slug": SLUGS[0]}, "b": None}
        assert error_codes(both) == ["SERVICE_UNAVAILABLE"]
        assert both["errors"][0]["path"] == ["b"]


async def test_a_job_published_during_a_lookup_outage_is_stored_slug_only_and_read_back(
    database_url: str, pg_proxy: TcpProxy, jobs_writer_key: IssuedKey
) -> None:
    async with running_app(
        pg_proxy.url_for(database_url), cache_warm_up=False, breaker_fail_max=1, **BASE
    ) as api:
        await _outage(pg_proxy)
        assert error_codes(await api.graphql(ONE)) == ["SERVICE_UNAVAILABLE"]
        assert api.app_state.lookup.breaker_state == "open"
        await pg_proxy.restore()  # the database is back; the breaker still says "not yet"

        body = await _publish(api, jobs_writer_key)
        assert "errors" not in body, body
        payload = body["data"]["publishJob"]
        assert payload["degraded"] is True
        assert payload["job"]["microUuid"] is None
        job_id = payload["job"]["id"]

        read = await api.graphql(JOB, {"id": job_id}, headers=jobs_writer_key.headers)
        assert read["data"]["job"] == {
            "id": job_id,
            "microId": "wall-painting",
            "microUuid": None,
            "status": "PUBLISHED",
        }
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow("SELECT micro_id, micro_uuid FROM jobs WHERE id = $1", job_id)
    finally:
        await conn.close()
    assert row is not None
    assert (row["micro_id"], row["micro_uuid"]) == ("wall-painting", None)


async def test_a_job_whose_insert_fails_is_service_unavailable_and_nothing_is_stored(
    database_url: str,
    pg_proxy: TcpProxy,
    jobs_writer_key: IssuedKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        async with running_app(pg_proxy.url_for(database_url), **BASE) as api:
            # A first publish verifies the key (cached while the listener is connected) and
            # puts wall-painting's row in the lookup cache: the second one needs the database
            # for its insert alone.
            assert "errors" not in await _publish(api, jobs_writer_key)
            before = await conn.fetchval("SELECT count(*) FROM jobs")
            listener = api.state["invalidation"].listener
            assert listener is not None
            assert listener.listening
            # The pool's connections die and no new one gets through; the listener's own
            # connection stays, so the cached key verdict is still trusted.
            pg_proxy.mode = "reject"
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND pid <> $1 AND backend_type = 'client backend'",
                listener.backend_pid,
            )
            api.statements.clear()
            with caplog.at_level(logging.WARNING, logger="resolvers.publish"):
                body = await _publish(api, jobs_writer_key)
            assert error_codes(body) == ["SERVICE_UNAVAILABLE"]
            assert "job insert failed, nothing stored" in caplog.text
            assert "could not be stored" in body["errors"][0]["message"]
            _no_stack_traces(body)
            assert listener.listening
            # The key check and the lookup asked nothing of the database.
            assert api.statements.lookups == []
            assert api.statements.matching("api_keys") == []
        assert await conn.fetchval("SELECT count(*) FROM jobs") == before
    finally:
        await conn.close()


async def test_a_job_published_normally_is_not_degraded(
    database_url: str, jobs_writer_key: IssuedKey
) -> None:
    async with running_app(database_url, **BASE) as api:
        body = await _publish(api, jobs_writer_key)
        assert body["data"]["publishJob"]["degraded"] is False
        assert body["data"]["publishJob"]["job"]["microUuid"] is not None


async def test_two_app_instances_share_the_redis_level(
    database_url: str, redis_namespace: str
) -> None:
    shared = {
        **BASE,
        "cache_warm_up": False,
        "redis_url": REDIS_URL,
        "cache_namespace": redis_namespace,
    }
    async with (
        running_app(database_url, **shared) as one,
        running_app(database_url, **shared) as two,
    ):
        assert "errors" not in await one.graphql(ONE)
        assert len(one.statements.lookups) == 1
        body = await two.graphql(ONE)
        assert body["data"]["microService"]["slug"] == "ceiling-painting"
        assert two.statements.lookups == []


async def _cut_until_the_listener_is_back(api: AppHarness, proxy: TcpProxy) -> Invalidation:
    """Cut PostgreSQL; during the cut a lookup the cache cannot answer opens the breaker; then
    PostgreSQL returns and the invalidation listener reconnects (the breaker still open)."""
    invalidation: Invalidation = api.state["invalidation"]
    assert invalidation.live()
    await _outage(proxy)
    await eventually(lambda: not invalidation.live())
    unknown = await api.graphql('query { microService(slug: "not-cached-anywhere") { id } }')
    assert error_codes(unknown) == ["SERVICE_UNAVAILABLE"]
    assert api.app_state.lookup.breaker_state == "open"
    return invalidation


async def test_after_a_short_cut_lookups_answer_normally_as_soon_as_the_database_is_back(
    database_url: str, pg_proxy: TcpProxy, jobs_writer_key: IssuedKey
) -> None:
    async with running_app(pg_proxy.url_for(database_url), breaker_fail_max=1, **BASE) as api:
        invalidation = await _cut_until_the_listener_is_back(api, pg_proxy)
        await pg_proxy.restore()
        await eventually(lambda: invalidation.live() and invalidation.gaps_kept == 1)
        # The catalogue did not change: the warm lookup cache still serves, breaker or not.
        assert api.app_state.lookup.breaker_state == "open"
        one = await api.graphql(ONE)
        assert "errors" not in one, one
        assert one["data"]["microService"]["slug"] == "ceiling-painting"
        search = await api.graphql(SEARCH)
        assert "errors" not in search, search
        assert search["data"]["searchServices"]
        wizard = (await api.graphql(WIZARD))["data"]["wizardQuestions"]
        assert wizard["degraded"] is False
        assert wizard["microUuid"] is not None
        published = await _publish(api, jobs_writer_key)
        assert "errors" not in published, published
        assert published["data"]["publishJob"]["degraded"] is False
        assert published["data"]["publishJob"]["job"]["microUuid"] is not None


async def test_a_catalogue_change_missed_during_a_cut_drops_the_caches_on_reconnect(
    database_url: str, pg_proxy: TcpProxy
) -> None:
    async with running_app(pg_proxy.url_for(database_url), breaker_fail_max=1, **BASE) as api:
        lookup_cache = api.app_state.lookup.cache
        invalidation = await _cut_until_the_listener_is_back(api, pg_proxy)
        before = invalidation.version
        assert before is not None
        assert len(lookup_cache.local) > 0
        writer = await asyncpg.connect(database_url)  # past the proxy: the notice is missed
        try:
            await writer.execute("UPDATE categories SET name = name || '?' WHERE slug = 'painting'")
        finally:
            await writer.close()
        await pg_proxy.restore()
        await eventually(lambda: invalidation.live() and invalidation.version == before + 1)
        assert invalidation.gaps_kept == 0
        assert len(lookup_cache.local) == 0
        response_cache = api.http_state.response_cache
        assert response_cache is not None
        assert response_cache.version == before + 1
