"""The types of service search and suggestions."""

from __future__ import annotations

import strawberry

from db.records import MicroServiceRecord
from resolvers import suggestions
from schema.types import CATALOGUE, MicroService


# Catalogue data ranked for a text: kept like the catalogue where the root field allows it
# (searchServices does; relatedServices, ranked from jobs, does not).
@strawberry.type(directives=CATALOGUE)
class ServiceMatch:
    micro_service: MicroServiceRecord = strawberry.field(graphql_type=MicroService)
    score: float = strawberry.field(
        description="searchServices: how well it matches, 0 to 1. relatedServices: the lift "
        "(how many times likelier customers who posted the one are to post this one); 0 for a "
        "same-subcategory fill-in."
    )
    matched_on: str | None = strawberry.field(
        description="searchServices: the name or keyword that matched, null when only the "
        "meaning did. relatedServices: why it is suggested."
    )
    path: list[str] = strawberry.field(
        resolver=suggestions.category_path,
        description="The category and subcategory names (e.g. Plumbing, Plumbing repairs), "
        "for showing under a suggestion.",
    )


@strawberry.type
class PopularService:
    micro_service: MicroServiceRecord = strawberry.field(graphql_type=MicroService)
    jobs: int = strawberry.field(description="Jobs posted for it in the area and period.")
