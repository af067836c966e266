"""Which Content-Encoding a client's Accept-Encoding gets, and that compressing round-trips."""

import gzip

import brotli
import pytest
import zstandard

from api.compression import choose_encoding, compress


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", None),
        ("identity", None),
        ("gzip", "gzip"),
        ("gzip, deflate, br", "br"),
        ("gzip, deflate, br, zstd", "br"),
        ("zstd, gzip", "zstd"),
        ("br;q=0.5, gzip;q=0.9", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("*", "br"),
        ("*;q=0, gzip", "gzip"),
        ("GZIP", "gzip"),
        ("br;q=nonsense, gzip", "gzip"),
    ],
)
def test_the_accepted_encoding_with_the_highest_weight_wins(
    header: str, expected: str | None
) -> None:
    assert choose_encoding(header) == expected


def test_each_encoding_round_trips_and_gzip_is_deterministic() -> None:
    body = b'{"data":{"x":"' + b"abc" * 1000 + b'"}}'
    assert gzip.decompress(compress(body, "gzip")) == body
    assert brotli.decompress(compress(body, "br", keep=True)) == body
    assert zstandard.ZstdDecompressor().decompress(compress(body, "zstd")) == body
    assert compress(body, "gzip", keep=True) == compress(body, "gzip", keep=True)
