"""Who a customer is: the subject of a token from the site's OpenID Connect provider.

A customer is the pair (issuer, subject): `sub` is unique only within its issuer, so two
providers' "1234" are two people.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Customer:
    issuer: str
    subject: str
