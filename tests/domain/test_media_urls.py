"""Signed media URLs: valid for their upload, variant and time only; stable within a bucket."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from domain.media_urls import BUCKET, DEFAULT_TTL, Variant, sign, verify

SECRET = b"s" * 32
NOW = 1_800_000_000.0


def test_a_signed_url_verifies_until_it_expires() -> None:
    upload_id = uuid.uuid4()
    url = sign(SECRET, upload_id, Variant.THUMB, now=NOW)
    assert url.path == f"/media/{upload_id}/thumb"
    assert url.expires >= NOW + DEFAULT_TTL
    assert url.expires % BUCKET == 0
    query = parse_qs(urlsplit(str(url)).query)
    expires, signature = query["expires"][0], query["signature"][0]
    ok = verify(SECRET, upload_id, Variant.THUMB, expires=expires, signature=signature, now=NOW)
    assert ok
    assert verify(
        SECRET,
        upload_id,
        Variant.THUMB,
        expires=expires,
        signature=signature,
        now=url.expires,
    )
    assert not verify(
        SECRET,
        upload_id,
        Variant.THUMB,
        expires=expires,
        signature=signature,
        now=url.expires + 1,
    )


def test_the_url_is_stable_within_a_bucket() -> None:
    upload_id = uuid.uuid4()
    start = (NOW // BUCKET) * BUCKET + 1
    assert str(sign(SECRET, upload_id, Variant.IMAGE, now=start)) == str(
        sign(SECRET, upload_id, Variant.IMAGE, now=start + BUCKET - 2)
    )


def test_a_signature_grants_only_its_upload_variant_and_expiry() -> None:
    upload_id = uuid.uuid4()
    url = sign(SECRET, upload_id, Variant.IMAGE, now=NOW)
    e, s = str(url.expires), url.signature
    assert not verify(SECRET, uuid.uuid4(), Variant.IMAGE, expires=e, signature=s, now=NOW)
    assert not verify(SECRET, upload_id, Variant.THUMB, expires=e, signature=s, now=NOW)
    later = str(url.expires + BUCKET)
    assert not verify(SECRET, upload_id, Variant.IMAGE, expires=later, signature=s, now=NOW)
    assert not verify(b"t" * 32, upload_id, Variant.IMAGE, expires=e, signature=s, now=NOW)


@pytest.mark.parametrize(
    ("expires", "signature"),
    [
        (None, "x" * 43),
        ("1", None),
        ("", ""),
        ("9" * 10_000, "x" * 43),
        ("-5", "x" * 43),
        ("１２３", "x" * 43),  # noqa: RUF001 - full-width digits are digits to str.isdigit
        ("99999999999", "x" * 10_000),
        ("99999999999", "é" * 43),
    ],
)
def test_malformed_query_values_are_no_grant(expires: str | None, signature: str | None) -> None:
    assert not verify(
        SECRET, uuid.uuid4(), Variant.IMAGE, expires=expires, signature=signature, now=NOW
    )
