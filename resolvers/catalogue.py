"""Catalogue fields: one micro service, a filtered list, the category tree."""

from __future__ import annotations

from collections import defaultdict

from api.context import Info
from loaders import listing
from schema.types import Category, MicroService, Subcategory


async def micro_service(info: Info, slug: str) -> MicroService | None:
    record = await info.context.loaders.micro_services.load(slug)
    return None if record is None else MicroService.from_record(record)


async def micro_services(
    info: Info,
    category: str | None = None,
    subcategory: str | None = None,
    slugs: list[str] | None = None,
) -> list[MicroService]:
    if slugs is not None:
        # Exactly those, in the order asked, unknown ones left out; one lookup for all of them.
        records = await info.context.loaders.micro_services.load_many(slugs)
        return [
            MicroService.from_record(r)
            for r in records
            if r is not None
            and (category is None or r.category == category)
            and (subcategory is None or r.subcategory == subcategory)
        ]
    services = info.context.services
    rows = await listing.list_micro_services(
        services.catalogue_pool,
        services.catalogue,
        info.context.loaders.micro_services,
        statement_timeout=services.lookup.statement_timeout,
        category=category,
        subcategory=subcategory,
    )
    return [MicroService.from_record(r) for r in rows]


async def categories(info: Info) -> list[Category]:
    services = info.context.services
    tree = await listing.category_tree(
        services.catalogue_pool,
        services.catalogue,
        info.context.loaders.micro_services,
        statement_timeout=services.lookup.statement_timeout,
    )
    by_subcategory: defaultdict[tuple[str, str], list[MicroService]] = defaultdict(list)
    for record in tree.micro_services:
        by_subcategory[record.category, record.subcategory].append(MicroService.from_record(record))
    by_category: defaultdict[str, list[Subcategory]] = defaultdict(list)
    for sub in tree.subcategories:
        by_category[sub.category].append(
            Subcategory(
                slug=sub.slug, name=sub.name, micro_services=by_subcategory[sub.category, sub.slug]
            )
        )
    return [
        Category(slug=c.slug, name=c.name, subcategories=by_category[c.slug])
        for c in tree.categories
    ]
