"""Typed rows, built from asyncpg records in one place so columns are named once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from domain.contact import Contact, ContactMethod
from domain.customers import Customer
from domain.jobs import Owner


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
    # personal data: shown only to the job's owner (domain/jobs.py).
    postcode: str | None = None
    postcode_district: str | None = None
    postcode_area: str | None = None
    address_line: str | None = field(default=None, repr=False)
    # The customer who published it (None for a key's job, or once the customer is erased).
    customer: Customer | None = field(default=None, repr=False)
    customer_id: UUID | None = None  # the customer's row (what uploads and keys reference)
    contact: Contact | None = field(default=None, repr=False)
    description: str | None = field(default=None, repr=False)
    version: int = 1
    updated_at: datetime | None = None  # None: never changed (read as created_at)
    cancel_reason: str | None = field(default=None, repr=False)
    outcome: str | None = None

    @property
    def owner(self) -> Owner:
        return Owner(api_key_id=self.api_key_id, customer=self.customer)

    @property
    def last_changed(self) -> datetime:
        return self.updated_at or self.created_at

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> JobRecord:
        issuer, subject = row["customer_issuer"], row["customer_subject"]
        email = row["contact_email"]
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
            customer=None if issuer is None else Customer(issuer=issuer, subject=subject),
            customer_id=row["customer_id"],
            contact=None
            if email is None
            else Contact(
                name=row["contact_name"],
                email=email,
                phone=row["contact_phone"],
                preferred=ContactMethod(row["preferred_contact"]),
            ),
            description=row["description"],
            version=row["version"],
            updated_at=row["updated_at"],
            cancel_reason=row["cancel_reason"],
            outcome=row["outcome"],
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
