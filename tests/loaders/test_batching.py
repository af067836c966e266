"""Batching proved from the statements the app's connections really sent to PostgreSQL.

The app here starts with a cold lookup cache (no warm-up), so the first request of each test
must reach the database, and the count of lookup statements is what batching made of it."""

from collections.abc import Awaitable, Callable
from uuid import UUID

import asyncpg

from tests.support import AppHarness, running_app
from tests.support.keys import IssuedKey


async def _slugs(database_url: str, count: int) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT slug FROM micro_services ORDER BY slug LIMIT $1", count)
    finally:
        await conn.close()
    return [r["slug"] for r in rows]


async def test_fifty_aliased_lookups_send_one_query(
    cold_api: AppHarness, database_url: str
) -> None:
    slugs = await _slugs(database_url, 50)
    fields = " ".join(f'a{i}: microService(slug: "{s}") {{ id slug }}' for i, s in enumerate(slugs))
    cold_api.statements.clear()
    body = await cold_api.graphql(f"{{ {fields} }}")
    assert "errors" not in body
    assert [body["data"][f"a{i}"]["slug"] for i in range(50)] == slugs
    assert len(cold_api.statements.lookups) == 1
    # ... and nothing else reached the database for this request.
    assert [
        s for s in cold_api.statements.statements if "micro_services" in s
    ] == cold_api.statements.lookups


async def test_slugs_argument_is_one_query_in_order_with_unknowns_left_out(
    cold_api: AppHarness,
) -> None:
    cold_api.statements.clear()
    body = await cold_api.graphql(
        '{ microServices(slugs: ["wall-painting", "nope", "ceiling-painting", "wall-painting"])'
        " { slug } }"
    )
    assert [m["slug"] for m in body["data"]["microServices"]] == [
        "wall-painting",
        "ceiling-painting",
        "wall-painting",
    ]
    assert len(cold_api.statements.lookups) == 1


async def test_unknown_slugs_come_back_null_in_order(cold_api: AppHarness) -> None:
    cold_api.statements.clear()
    body = await cold_api.graphql(
        '{ a: microService(slug: "nope-1") { slug } b: microService(slug: "wall-painting") '
        '{ slug } c: microService(slug: "nope-2") { slug } }'
    )
    assert body["data"] == {"a": None, "b": {"slug": "wall-painting"}, "c": None}
    assert len(cold_api.statements.lookups) == 1


async def test_wizard_and_lookups_in_one_request_share_one_query(cold_api: AppHarness) -> None:
    cold_api.statements.clear()
    body = await cold_api.graphql(
        '{ wizardQuestions(categories: ["painting", "interior", "wall-painting"]) { microUuid } '
        'x: microService(slug: "ceiling-painting") { id } '
        'microServices(slugs: ["wall-painting", "woodwork-painting"]) { id } }'
    )
    assert "errors" not in body
    assert body["data"]["wizardQuestions"]["microUuid"] == body["data"]["microServices"][0]["id"]
    assert len(cold_api.statements.lookups) == 1


async def test_many_jobs_resolve_their_micro_services_in_one_query(
    cold_api: AppHarness, database_url: str, make_api_key: Callable[..., Awaitable[IssuedKey]]
) -> None:
    slugs = await _slugs(database_url, 5)
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "INSERT INTO jobs (micro_id, answers) SELECT s, '{}'::jsonb FROM unnest($1::text[]) s "
            "RETURNING id, micro_id",
            slugs,
        )
    finally:
        await conn.close()
    fields = " ".join(
        f'j{i}: job(id: "{UUID(str(row["id"]))}") {{ microService {{ slug }} }}'
        for i, row in enumerate(rows)
    )
    cold_api.statements.clear()
    reader = await make_api_key("jobs:read")
    body = await cold_api.graphql(f"{{ {fields} }}", headers=reader.headers)
    assert [body["data"][f"j{i}"]["microService"]["slug"] for i in range(5)] == [
        row["micro_id"] for row in rows
    ]
    assert len(cold_api.statements.lookups) == 1
    assert len(cold_api.statements.matching("WHERE j.id = ANY($1::uuid[])")) == 1


async def test_loaders_are_per_request_not_shared(database_url: str) -> None:
    # With the shared cache's entry dropped after each request, only a DataLoader memo kept
    # across requests could spare the second request its lookup.
    async with running_app(
        database_url,
        migrate_on_start=False,
        seed_on_start=False,
        cache_warm_up=False,
    ) as api:
        for _ in range(2):
            api.statements.clear()
            await api.graphql('{ microService(slug: "wall-painting") { id } }')
            assert len(api.statements.lookups) == 1
            await api.app_state.lookup.invalidate(["wall-painting"])  # a miss again next time


async def test_a_warm_cache_sends_no_lookup_at_all(database_url: str) -> None:
    async with running_app(database_url, migrate_on_start=False, seed_on_start=False) as api:
        api.statements.clear()
        body = await api.graphql(
            '{ a: microService(slug: "wall-painting") { id } '
            'b: microServices(slugs: ["ceiling-painting", "woodwork-painting"]) { id } }'
        )
        assert "errors" not in body
        assert api.statements.lookups == []
