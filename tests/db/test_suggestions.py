"""The suggestion rollups (migration 010) and their repository functions, on a real database of
this module's own: jobs are written straight into the table, the rollups refreshed, then read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
import pytest

from db.suggestions import (
    POPULAR_SERVICES,
    RELATED_SERVICES,
    fetch_popular_services,
    fetch_related_services,
    refresh_suggestions,
)
from domain.suggestions import customer_ref_hash

NOW = datetime.now(UTC)
TODAY = NOW.date()
KEY = uuid4()


@pytest.fixture
async def conn(seeded_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(seeded_database_url)
    try:
        yield connection
    finally:
        await connection.close()


async def _ids(conn: asyncpg.Connection) -> dict[str, UUID]:
    return {r["slug"]: r["id"] for r in await conn.fetch("SELECT slug, id FROM micro_services")}


async def _job(
    conn: asyncpg.Connection,
    slug: str,
    *,
    customer: str | None = None,
    days_ago: float = 0,
    area: str | None = None,
    status: str = "PUBLISHED",
    slug_only: bool = False,
) -> None:
    await conn.execute(
        """
        INSERT INTO jobs (micro_id, micro_uuid, answers, status, created_at, customer_ref_hash,
                          postcode_area)
        SELECT $1, CASE WHEN $2 THEN NULL ELSE id END, '{}'::jsonb, $3, $4, $5, $6
          FROM micro_services WHERE slug = $1
        """,
        slug,
        slug_only,
        status,
        NOW - timedelta(days=days_ago),
        customer_ref_hash(KEY, customer) if customer else None,
        area,
    )


async def _refresh(conn: asyncpg.Connection) -> None:
    await refresh_suggestions(conn, popularity_from=TODAY - timedelta(days=400))


def test_customer_refs_are_keyed_by_the_api_key() -> None:
    other = uuid4()
    assert customer_ref_hash(KEY, "42") == customer_ref_hash(KEY, "42")
    assert customer_ref_hash(KEY, "42") != customer_ref_hash(other, "42")
    assert len(customer_ref_hash(KEY, "42")) == 64


async def test_a_customer_ref_hash_must_be_a_sha256_hex_digest(conn: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(
            "INSERT INTO jobs (micro_id, answers, customer_ref_hash) VALUES ('x', '{}', 'raw-id')"
        )


async def test_related_services_rank_by_lift_above_minimum_support(
    conn: asyncpg.Connection,
) -> None:
    ids = await _ids(conn)
    # Five customers re-plaster then paint; three of them also sand the floor; two more only
    # sand; two customers pair painting with gutters (below the minimum support of three).
    for n in range(5):
        await _job(conn, "wall-skimming", customer=f"c{n}", days_ago=40)
        await _job(conn, "wall-painting", customer=f"c{n}", days_ago=20)
    for n in range(3):
        await _job(conn, "floor-sanding", customer=f"c{n}", days_ago=10)
    for n in range(5, 7):
        await _job(conn, "floor-sanding", customer=f"c{n}", days_ago=10)
        await _job(conn, "gutter-cleaning", customer=f"c{n}", days_ago=5)
        await _job(conn, "wall-painting", customer=f"c{n}", days_ago=5)
    await _refresh(conn)

    related = await fetch_related_services(conn, micro_uuid=ids["wall-skimming"], first=5)
    from_jobs = [(r.slug, r.support) for r in related if r.source == "jobs"]
    assert from_jobs == [("wall-painting", 5), ("floor-sanding", 3)]
    # floor-sanding: 3 of 5 skimming customers vs 5 of 7 overall -> lift 0.84; painting 1.0.
    assert related[0].lift == pytest.approx(7 * 5 / (5 * 7))
    # The rest is filled from the same subcategory, never the service itself.
    fallback = [r.slug for r in related if r.source == "subcategory"]
    assert fallback == ["ceiling-plastering", "plaster-repair", "artex-removal"]

    painting = await fetch_related_services(conn, micro_uuid=ids["wall-painting"], first=5)
    assert "gutter-cleaning" not in {r.slug for r in painting if r.source == "jobs"}


async def test_jobs_further_apart_than_the_window_do_not_pair(conn: asyncpg.Connection) -> None:
    ids = await _ids(conn)
    for n in range(4):
        await _job(conn, "boiler-service", customer=f"far{n}", days_ago=300)
        await _job(conn, "power-flush", customer=f"far{n}", days_ago=10)
        await _job(conn, "boiler-repair", customer=f"near{n}", days_ago=100, slug_only=True)
        await _job(conn, "radiator-installation", customer=f"near{n}", days_ago=1)
    await _refresh(conn)
    far = await fetch_related_services(conn, micro_uuid=ids["boiler-service"], first=3)
    assert {r.source for r in far} == {"subcategory"}
    near = await fetch_related_services(conn, micro_uuid=ids["boiler-repair"], first=1)
    assert [(r.slug, r.source) for r in near] == [("radiator-installation", "jobs")]


async def test_related_for_a_service_with_no_jobs_is_its_subcategory(
    conn: asyncpg.Connection,
) -> None:
    ids = await _ids(conn)
    await _refresh(conn)
    related = await fetch_related_services(conn, micro_uuid=ids["tap-repair-replacement"], first=2)
    assert [r.slug for r in related] == ["leak-repair", "toilet-repair"]
    assert await fetch_related_services(conn, micro_uuid=uuid4(), first=5) == []


async def test_popular_services_by_area_and_everywhere(conn: asyncpg.Connection) -> None:
    for _ in range(3):
        await _job(conn, "boiler-repair", area="SW", days_ago=1)
    await _job(conn, "lawn-mowing", area="sw", days_ago=2)
    await _job(conn, "lawn-mowing", area="SW", days_ago=45)  # outside 30 days
    await _job(conn, "lawn-mowing", area="SW", status="CANCELLED")
    await _job(conn, "gutter-cleaning", area="M")
    await _job(conn, "gutter-cleaning")  # no location: counts everywhere only
    await _job(conn, "gutter-cleaning", slug_only=True)
    await _refresh(conn)

    sw = await fetch_popular_services(conn, postcode_area="SW", days=30, first=10)
    assert [(p.slug, p.jobs) for p in sw] == [("boiler-repair", 3), ("lawn-mowing", 1)]
    longer = await fetch_popular_services(conn, postcode_area="SW", days=60, first=10)
    assert [(p.slug, p.jobs) for p in longer] == [("boiler-repair", 3), ("lawn-mowing", 2)]
    everywhere = await fetch_popular_services(conn, postcode_area=None, days=30, first=2)
    assert [(p.slug, p.jobs) for p in everywhere] == [("boiler-repair", 3), ("gutter-cleaning", 3)]
    assert await fetch_popular_services(conn, postcode_area="ZZ", days=30, first=5) == []


async def test_a_periodic_refresh_recounts_recent_days_only(conn: asyncpg.Connection) -> None:
    await _job(conn, "lawn-mowing", area="B", days_ago=10)
    await _refresh(conn)
    await conn.execute("DELETE FROM jobs")  # an old day is not recounted by a recent refresh
    await _job(conn, "hedge-trimming", area="B")
    counts = await refresh_suggestions(conn, popularity_from=TODAY - timedelta(days=1))
    assert counts.popularity_rows == 2  # today's row for B and for everywhere
    popular = await fetch_popular_services(conn, postcode_area="B", days=30, first=5)
    assert sorted(p.slug for p in popular) == ["hedge-trimming", "lawn-mowing"]


@pytest.mark.parametrize(
    ("query", "args"),
    [(POPULAR_SERVICES, ("SW", 30, 10)), (RELATED_SERVICES, (uuid4(), 5))],
)
async def test_answering_reads_the_rollups_never_jobs(
    conn: asyncpg.Connection, query: str, args: tuple[object, ...]
) -> None:
    plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {query}", *args))
    assert " jobs" not in plan
    assert "job_services" not in plan
