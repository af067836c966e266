"""Settings of a job's life and its personal data: expiry, retention, phone numbers."""

from __future__ import annotations

import phonenumbers
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings


class JobSettings(BaseSettings):
    """Jobs: when they expire, how long their contact details are kept, how phones are read."""

    job_expiry_days: int = Field(
        30,
        ge=1,
        le=3650,
        description="A PUBLISHED job older than this many days becomes EXPIRED.",
    )
    contact_retention_days: int = Field(
        365,
        ge=1,
        le=36500,
        description="Contact details, address line, description and photos of a job that left "
        "PUBLISHED are purged this many days after it did.",
    )
    job_upkeep_interval: float = Field(
        3600.0,
        ge=0.0,
        le=7 * 24 * 3600,
        description="Seconds between two runs of the expiry and of the contact purge within "
        "the server; 0 turns both off.",
    )
    phone_default_region: str = Field(
        "GB",
        description="The region a phone number without a country code is read in (ISO 3166 "
        "alpha-2, as phonenumbers knows it).",
    )

    @field_validator("phone_default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"must be a region phonenumbers knows (GB, IE, US...), got {value!r}")
        return region
