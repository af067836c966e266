"""Signed, expiring media URLs: how a browser shows a job's photos without holding an API key.

`Job.photos` hands out `/media/{id}?expires=...&signature=...` to a caller who may read the job;
the signature (HMAC-SHA256 over the path and expiry) is the proof of that, until it expires.
Expiry times are rounded up to a bucket, so one caller sees the same URL for a while and the
browser's cache keeps working across page loads.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from dataclasses import dataclass
from enum import Enum
from uuid import UUID

DEFAULT_TTL = 3600  # seconds a URL stays valid, at least
BUCKET = 900  # expiries are multiples of this: the URL changes at most once a bucket
_MAX_EXPIRES_DIGITS = 12
_SIGNATURE_CHARS = 43  # base64url of a SHA-256, unpadded


class Variant(Enum):
    IMAGE = ""
    THUMB = "/thumb"


@dataclass(frozen=True, slots=True)
class SignedUrl:
    path: str
    expires: int
    signature: str

    def __str__(self) -> str:
        return f"{self.path}?expires={self.expires}&signature={self.signature}"


def media_path(upload_id: UUID, variant: Variant) -> str:
    return f"/media/{upload_id}{variant.value}"


def _signature(secret: bytes, path: str, expires: int) -> str:
    mac = hmac.new(secret, f"{path}\n{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def sign(
    secret: bytes, upload_id: UUID, variant: Variant, *, now: float, ttl: int = DEFAULT_TTL
) -> SignedUrl:
    """A URL for `upload_id`'s `variant`, valid for at least `ttl` seconds from `now`."""
    expires = math.ceil((now + ttl) / BUCKET) * BUCKET
    path = media_path(upload_id, variant)
    return SignedUrl(path, expires, _signature(secret, path, expires))


def verify(
    secret: bytes,
    upload_id: UUID,
    variant: Variant,
    *,
    expires: str | None,
    signature: str | None,
    now: float,
) -> bool:
    """Whether `expires` and `signature` (as they came in the query string) grant `variant` of
    `upload_id` at `now`. Malformed values are simply not a grant."""
    if expires is None or signature is None:
        return False
    if not (expires.isascii() and expires.isdigit()) or len(expires) > _MAX_EXPIRES_DIGITS:
        return False
    if len(signature) != _SIGNATURE_CHARS or not signature.isascii():
        return False
    if int(expires) < now:
        return False
    expected = _signature(secret, media_path(upload_id, variant), int(expires))
    return hmac.compare_digest(expected.encode(), signature.encode())
