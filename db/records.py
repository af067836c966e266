"""Typed rows, built from asyncpg records in one place so columns are named once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg


@dataclass(frozen=True, slots=True)
class MicroServiceRecord:
    id: UUID
    slug: str
    name: str
    category: str
    subcategory: str
    description: str
    # `id` as text, made once: records live in the cache, and every lookup event carries it.
    id_text: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id_text", str(self.id))

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> MicroServiceRecord:
        return cls(
            # The standard library's UUID, not asyncpg's subclass: the same type whichever
            # cache level a record comes from, and one orjson writes natively (the event log).
            id=UUID(bytes=row["id"].bytes),
            slug=row["slug"],
            name=row["name"],
            category=row["category"],
            subcategory=row["subcategory"],
            description=row["description"],
        )


@dataclass(frozen=True, slots=True)
class JobRecord:
    id: UUID
    slug: str  # the micro service's slug (the column and the API call it micro_id / microId)
    micro_uuid: UUID | None
    answers: dict[str, Any]
    status: str
    created_at: datetime
    api_key_id: UUID | None = None  # the key that published it; None for keyless old jobs
    # Where it is; None for jobs published before locations existed. The address line is
    # personal data: shown only to whoever may read the job in full (resolvers/jobs.py).
    postcode: str | None = None
    postcode_district: str | None = None
    postcode_area: str | None = None
    address_line: str | None = field(default=None, repr=False)

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> JobRecord:
        return cls(
            id=row["id"],
            slug=row["micro_id"],
            micro_uuid=row["micro_uuid"],
            answers=row["answers"],
            status=row["status"],
            created_at=row["created_at"],
            api_key_id=row["api_key_id"],
            postcode=row["postcode"],
            postcode_district=row["postcode_district"],
            postcode_area=row["postcode_area"],
            address_line=row["address_line"],
        )


@dataclass(frozen=True, slots=True)
class CategoryRow:
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class SubcategoryRow:
    category: str
    slug: str
    name: str
