import dataclasses
from collections.abc import Callable

import asyncpg

from db.migrate import apply_migrations
from db.seed import seed_catalogue
from domain.catalogue import Catalogue, MicroServiceSpec


async def _uuids(conn: asyncpg.Connection) -> dict[str, str]:
    rows = await conn.fetch("SELECT slug, id::text FROM micro_services")
    return {r["slug"]: r["id"] for r in rows}


def _edited(
    catalogue: Catalogue, edit: Callable[[MicroServiceSpec], MicroServiceSpec | None]
) -> Catalogue:
    """`catalogue` with `edit` applied to every micro service (None drops it)."""
    categories = []
    for category in catalogue.categories:
        subs = tuple(
            dataclasses.replace(
                s,
                micro_services=tuple(e for m in s.micro_services if (e := edit(m)) is not None),
            )
            for s in category.subcategories
        )
        categories.append(dataclasses.replace(category, subcategories=subs))
    by_slug = {m.slug: m for c in categories for s in c.subcategories for m in s.micro_services}
    return Catalogue(categories=tuple(categories), by_slug=by_slug)


async def test_seed_is_idempotent_and_uuids_stay_stable(
    empty_database_url: str, catalogue: Catalogue
) -> None:
    conn = await asyncpg.connect(empty_database_url)
    try:
        await apply_migrations(conn)
        first = await seed_catalogue(conn, catalogue)
        assert len(first.changed) == len(catalogue.by_slug)
        before = await _uuids(conn)

        again = await seed_catalogue(conn, catalogue)
        assert again.changed == ()
        assert again.deactivated == ()
        assert await _uuids(conn) == before
    finally:
        await conn.close()


async def test_reseed_reports_changes_and_deactivates_removed_entries(
    empty_database_url: str, catalogue: Catalogue
) -> None:
    conn = await asyncpg.connect(empty_database_url)
    try:
        await apply_migrations(conn)
        await seed_catalogue(conn, catalogue)
        before = await _uuids(conn)

        def edit(m: MicroServiceSpec) -> MicroServiceSpec | None:
            if m.slug == "ceiling-painting":
                return None
            return dataclasses.replace(m, name="Walls, painted") if m.slug == "wall-painting" else m

        result = await seed_catalogue(conn, _edited(catalogue, edit))
        assert result.changed == ("wall-painting",)
        assert result.deactivated == ("ceiling-painting",)
        assert await _uuids(conn) == before  # renamed and deactivated rows keep their UUIDs
        active = await conn.fetchval(
            "SELECT active FROM micro_services WHERE slug = 'ceiling-painting'"
        )
        assert active is False

        restored = await seed_catalogue(conn, catalogue)
        assert set(restored.changed) == {"wall-painting", "ceiling-painting"}
        assert await _uuids(conn) == before
    finally:
        await conn.close()


async def test_a_service_marked_inactive_is_deactivated_and_keeps_its_uuid(
    empty_database_url: str, catalogue: Catalogue
) -> None:
    conn = await asyncpg.connect(empty_database_url)
    try:
        await apply_migrations(conn)
        await seed_catalogue(conn, catalogue)
        before = await _uuids(conn)
        retired = _edited(
            catalogue,
            lambda m: dataclasses.replace(m, active=False) if m.slug == "carpet-removal" else m,
        )
        result = await seed_catalogue(conn, retired)
        assert result.deactivated == ("carpet-removal",)
        row = await conn.fetchrow(
            "SELECT id::text, active FROM micro_services WHERE slug = 'carpet-removal'"
        )
        assert row is not None
        assert (row["id"], row["active"]) == (before["carpet-removal"], False)
        # The file still holds it, so old jobs' answers keep their questions.
        assert retired.micro_service("carpet-removal") is not None
    finally:
        await conn.close()
