"""publishJob's photoIds (at most ten, no repeats, each an unattached upload of the caller) and
the hourly upload quota."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from domain.errors import BadUserInputError
from domain.uploads import (
    MAX_PHOTOS,
    RateLimitedError,
    UploadOwner,
    UploadQuota,
    check_attachable,
    parse_photo_ids,
    storage_keys,
)


def _ids(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


def test_no_photos_is_fine() -> None:
    assert parse_photo_ids(None) == []
    assert parse_photo_ids([]) == []


def test_ten_photos_keep_their_order() -> None:
    raw = _ids(MAX_PHOTOS)
    assert [str(i) for i in parse_photo_ids(raw)] == raw


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (_ids(11), "At most 10 photos; 11 were given."),
        (_ids(10_000), "At most 10 photos; 10000 were given."),
        (["not-a-uuid"], "Photo 1 is not an upload of yours."),
        ([str(uuid.uuid4()), "x" * 10_240], "Photo 2 is not an upload of yours."),
        (["\x00"], "Photo 1 is not an upload of yours."),
    ],
)
def test_bad_photo_id_lists_are_refused_at_photo_ids(raw: list[str], says: str) -> None:
    with pytest.raises(BadUserInputError) as caught:
        parse_photo_ids(raw)
    assert caught.value.fields == {"photoIds": says}


def test_a_repeated_photo_is_refused() -> None:
    first, second = _ids(2)
    with pytest.raises(BadUserInputError) as caught:
        parse_photo_ids([first, second, first.upper()])
    assert caught.value.fields == {"photoIds": "Photo 3 repeats photo 1."}


def test_only_the_callers_unattached_uploads_can_be_attached() -> None:
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    free, taken, other, unknown = (uuid.uuid4() for _ in range(4))
    found = {
        free: UploadOwner(api_key_id=mine, job_id=None),
        taken: UploadOwner(api_key_id=mine, job_id=uuid.uuid4()),
        other: UploadOwner(api_key_id=theirs, job_id=None),
    }
    check_attachable([free], found, api_key_id=mine)
    for ids, says in [
        ([free, taken], "Photo 2 is already attached to another job."),
        ([other], "Photo 1 is not an upload of yours."),
        ([free, unknown], "Photo 2 is not an upload of yours."),
    ]:
        with pytest.raises(BadUserInputError) as caught:
            check_attachable(ids, found, api_key_id=mine)
        assert caught.value.fields == {"photoIds": says}


def test_quota_allows_up_to_its_limits() -> None:
    quota = UploadQuota(max_uploads=3, max_bytes=1000)
    quota.check(used_uploads=2, used_bytes=500, incoming_bytes=500, oldest_age=timedelta(0))


@pytest.mark.parametrize(
    ("used_uploads", "used_bytes", "incoming"), [(3, 0, 1), (0, 999, 2), (0, 0, 1001)]
)
def test_quota_refuses_past_either_limit_with_retry_after(
    used_uploads: int, used_bytes: int, incoming: int
) -> None:
    quota = UploadQuota(max_uploads=3, max_bytes=1000)
    with pytest.raises(RateLimitedError) as caught:
        quota.check(
            used_uploads=used_uploads,
            used_bytes=used_bytes,
            incoming_bytes=incoming,
            oldest_age=timedelta(minutes=45),
        )
    assert caught.value.retry_after == 15 * 60
    assert "at most 3 uploads" in str(caught.value)


def test_storage_keys_are_distinct_per_upload_and_rendition() -> None:
    upload_id = uuid.uuid4()
    image, thumb = storage_keys(upload_id)
    assert image != thumb
    assert str(upload_id) in image
    assert str(upload_id) in thumb
