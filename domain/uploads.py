"""Photo uploads: what may be uploaded, how many a key may upload, and which uploads a job may
take. Pure rules; the bytes are handled by `media`, the rows by `db.uploads`. Its errors are in
`domain.errors` (re-exported here for the callers that meet them with these rules)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from domain.api_keys import ApiKey
from domain.errors import (
    BadUserInputError,
    ImageTooLargeError,
    InvalidImageError,
    RateLimitedError,
    UnsupportedImageError,
    UploadRejectedError,
)

__all__ = [
    "CONTENT_TYPES",
    "MAX_PHOTOS",
    "UNATTACHED_TTL",
    "ImageTooLargeError",
    "InvalidImageError",
    "RateLimitedError",
    "UnsupportedImageError",
    "UploadOwner",
    "UploadQuota",
    "UploadRejectedError",
    "check_attachable",
    "may_read_upload",
    "parse_photo_ids",
    "storage_keys",
    "thumbnail_key",
]

MAX_PHOTOS = 10
PHOTO_IDS_FIELD = "photoIds"
# An upload nobody attached to a job within this long is deleted with its bytes.
UNATTACHED_TTL = timedelta(hours=24)
CONTENT_TYPES: frozenset[str] = frozenset({"image/jpeg", "image/png", "image/webp"})


@dataclass(frozen=True, slots=True)
class UploadQuota:
    """How much one API key may upload within a sliding `window`."""

    max_uploads: int = 200
    max_bytes: int = 500 * 1024 * 1024
    window: timedelta = timedelta(hours=1)

    def check(
        self, *, used_uploads: int, used_bytes: int, incoming_bytes: int, oldest_age: timedelta
    ) -> None:
        """RATE_LIMITED when one more upload of `incoming_bytes` would pass either limit.
        `oldest_age` is the age of the key's oldest upload in the window: when it leaves the
        window, room frees up, which is what Retry-After tells."""
        if used_uploads + 1 <= self.max_uploads and used_bytes + incoming_bytes <= self.max_bytes:
            return
        retry_after = max(1, math.ceil((self.window - oldest_age).total_seconds()))
        hours = self.window.total_seconds() / 3600
        per = "an hour" if hours == 1 else f"per {hours:g} hours"
        raise RateLimitedError(
            f"Upload quota used up: at most {self.max_uploads} uploads or "
            f"{self.max_bytes // (1024 * 1024)} MB {per} per API key. "
            f"Retry after {retry_after} s.",
            retry_after=retry_after,
        )


def thumbnail_key(image_key: str) -> str:
    """Where the thumbnail of the image stored under `image_key` is kept."""
    return f"{image_key}/thumb"


def storage_keys(upload_id: UUID) -> tuple[str, str]:
    """Where an upload's image and its thumbnail are kept in the media store."""
    image_key = f"uploads/{upload_id}"
    return image_key, thumbnail_key(image_key)


def _bad_photos(message: str) -> BadUserInputError:
    return BadUserInputError(message, fields={PHOTO_IDS_FIELD: message})


def parse_photo_ids(raw: Sequence[str] | None) -> list[UUID]:
    """The photo ids of a publishJob input, in order; BAD_USER_INPUT at `photoIds` for too many,
    a repeat, or one that cannot be an upload id."""
    if not raw:
        return []
    if len(raw) > MAX_PHOTOS:
        raise _bad_photos(f"At most {MAX_PHOTOS} photos; {len(raw)} were given.")
    ids: list[UUID] = []
    for position, value in enumerate(raw):
        try:
            # Upload ids are UUIDs; anything else names no upload. The value is not echoed:
            # it may be of any length.
            upload_id = UUID(value) if len(value) <= 64 else None
        except ValueError:
            upload_id = None
        if upload_id is None:
            raise _bad_photos(f"Photo {position + 1} is not an upload of yours.")
        if upload_id in ids:
            raise _bad_photos(f"Photo {position + 1} repeats photo {ids.index(upload_id) + 1}.")
        ids.append(upload_id)
    return ids


@dataclass(frozen=True, slots=True)
class UploadOwner:
    """Who an upload belongs to (an API key or a customer) and where it is attached, as a
    publish or an update checks it."""

    api_key_id: UUID | None
    job_id: UUID | None
    customer_id: UUID | None = None


def check_attachable(
    ids: Iterable[UUID],
    found: Mapping[UUID, UploadOwner],
    *,
    api_key_id: UUID | None,
    customer_id: UUID | None = None,
    job_id: UUID | None = None,
) -> None:
    """Each of `ids` must be an upload of the caller (`api_key_id` or `customer_id`) that no
    job has yet, or that job `job_id` has already (an update keeping a photo). Another caller's
    upload reads exactly like an unknown one, so that ids cannot be probed."""
    for position, upload_id in enumerate(ids):
        owner = found.get(upload_id)
        mine = owner is not None and (
            (api_key_id is not None and owner.api_key_id == api_key_id)
            or (customer_id is not None and owner.customer_id == customer_id)
        )
        if owner is None or not mine:
            raise _bad_photos(f"Photo {position + 1} is not an upload of yours.")
        if owner.job_id is not None and owner.job_id != job_id:
            raise _bad_photos(f"Photo {position + 1} is already attached to another job.")


def may_read_upload(caller: ApiKey, *, uploader_id: UUID | None) -> bool:
    """An upload is readable with an API key only by the key that uploaded it: photos are
    personal data, which a key that may read every job (jobs:read) does not see."""
    return uploader_id is not None and caller.id == uploader_id
