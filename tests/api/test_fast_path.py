"""The structural facts the server's speed rests on, counted rather than timed: a request costs
one SQL statement whatever the number of slugs (nothing else: no reset on release), and none
once the shared cache is warm; a repeated document is parsed once (tests/schema/
test_document_cache.py)."""

import asyncpg
import pytest

from db.queries import SELECT_MICRO_SERVICES_BY_SLUGS
from tests.support import AppHarness


async def _slugs(database_url: str, count: int) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT slug FROM micro_services ORDER BY slug DESC LIMIT $1", count
        )
    finally:
        await conn.close()
    return [r["slug"] for r in rows]


def _aliased(count: int) -> str:
    params = ", ".join(f"$s{i}: String!" for i in range(count))
    fields = " ".join(f"m{i}: microService(slug: $s{i}) {{ id }}" for i in range(count))
    return f"query Aliased({params}) {{ {fields} }}"


@pytest.mark.parametrize("count", [1, 7, 50, 166])
async def test_a_cold_request_sends_exactly_one_statement_for_any_number_of_slugs(
    cold_api: AppHarness, database_url: str, count: int
) -> None:
    slugs = await _slugs(database_url, count)
    assert len(slugs) == count
    variables = {f"s{i}": s for i, s in enumerate(slugs)}
    cold_api.statements.clear()
    body = await cold_api.graphql(_aliased(count), variables)
    assert "errors" not in body
    assert all(body["data"][f"m{i}"] is not None for i in range(count))
    # The lookup and nothing else: no per-release reset, no re-prepare, no second batch.
    assert cold_api.statements.statements == [SELECT_MICRO_SERVICES_BY_SLUGS]


async def test_a_slug_list_with_unknowns_is_one_statement_too(
    cold_api: AppHarness, database_url: str
) -> None:
    slugs = [*await _slugs(database_url, 40), "no-such-slug", "nope-2"]
    cold_api.statements.clear()
    body = await cold_api.graphql(
        "query($s: [String!]!) { microServices(slugs: $s) { id } }", {"s": slugs}
    )
    assert len(body["data"]["microServices"]) == 40
    assert cold_api.statements.statements == [SELECT_MICRO_SERVICES_BY_SLUGS]


async def test_a_warm_request_sends_no_statement(cold_api: AppHarness, database_url: str) -> None:
    slugs = await _slugs(database_url, 20)
    variables = {f"s{i}": s for i, s in enumerate(slugs)}
    await cold_api.graphql(_aliased(20), variables)  # warms the cache
    cold_api.statements.clear()
    body = await cold_api.graphql(_aliased(20), variables)
    assert all(body["data"][f"m{i}"] is not None for i in range(20))
    assert cold_api.statements.statements == []
