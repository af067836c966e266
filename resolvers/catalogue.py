"""Catalogue fields: one micro service, a filtered list, the category tree, a service's
questions. They return records; the schema declares the GraphQL types."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from context import Info
from db.records import MicroServiceRecord
from domain.catalogue import Question
from loaders import listing


@dataclass(frozen=True, slots=True)
class SubcategoryNode:
    slug: str
    name: str
    micro_services: list[MicroServiceRecord]


@dataclass(frozen=True, slots=True)
class CategoryNode:
    slug: str
    name: str
    subcategories: list[SubcategoryNode]


async def micro_service(info: Info, slug: str) -> MicroServiceRecord | None:
    return await info.context.loaders.micro_services.load(slug)


async def micro_services(
    info: Info,
    category: str | None = None,
    subcategory: str | None = None,
    slugs: list[str] | None = None,
) -> list[MicroServiceRecord]:
    if slugs is not None:
        # Exactly those, in the order asked, unknown ones left out; one lookup for all of them.
        records = await info.context.loaders.micro_services.load_many(slugs)
        return [
            r
            for r in records
            if r is not None
            and (category is None or r.category == category)
            and (subcategory is None or r.subcategory == subcategory)
        ]
    app = info.context.app
    return await listing.list_micro_services(
        app.catalogue_reads,
        app.catalogue,
        info.context.loaders.micro_services,
        statement_timeout=app.lookup.statement_timeout,
        category=category,
        subcategory=subcategory,
    )


async def categories(info: Info) -> list[CategoryNode]:
    app = info.context.app
    tree = await listing.category_tree(
        app.catalogue_reads,
        app.catalogue,
        info.context.loaders.micro_services,
        statement_timeout=app.lookup.statement_timeout,
    )
    if tree.degraded:
        info.context.cacheable = False  # rebuilt without the database: keep no copy
    by_subcategory: defaultdict[tuple[str, str], list[MicroServiceRecord]] = defaultdict(list)
    for record in tree.micro_services:
        by_subcategory[record.category, record.subcategory].append(record)
    by_category: defaultdict[str, list[SubcategoryNode]] = defaultdict(list)
    for sub in tree.subcategories:
        by_category[sub.category].append(
            SubcategoryNode(sub.slug, sub.name, by_subcategory[sub.category, sub.slug])
        )
    return [CategoryNode(c.slug, c.name, by_category[c.slug]) for c in tree.categories]


def questions(root: MicroServiceRecord, info: Info) -> tuple[Question, ...]:
    """The wizard's questions of a micro service, from the catalogue file."""
    spec = info.context.app.catalogue.micro_service(root.slug)
    return () if spec is None else spec.questions
