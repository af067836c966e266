"""Content-Encoding of answers: zstd, brotli or gzip, as the client's Accept-Encoding allows.

Brotli and zstd compress JSON better than gzip; on a tie of the client's q-values the server's
order below decides. Answers kept by the response cache are compressed once, at a higher level,
and the compressed bytes are kept beside the plain ones.
"""

from __future__ import annotations

import functools
import gzip

import brotli
import zstandard

GZIP, BROTLI, ZSTD = "gzip", "br", "zstd"
_PREFERENCE = (BROTLI, ZSTD, GZIP)  # on a tie of q-values, the first wins


@functools.lru_cache(maxsize=256)  # clients send a handful of distinct headers
def choose_encoding(accept_encoding: str) -> str | None:
    """The encoding to use for `accept_encoding` (a header value), None for identity."""
    if not accept_encoding:
        return None
    weights: dict[str, float] = {}
    star: float | None = None
    for item in accept_encoding.lower().split(","):
        name, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name == "*":
            star = q
        elif name:
            weights[name] = q
    best: tuple[float, int] | None = None
    chosen: str | None = None
    for rank, encoding in enumerate(_PREFERENCE):
        q = weights.get(encoding, star if star is not None else 0.0)
        if q <= 0:
            continue
        score = (q, -rank)
        if best is None or score > best:
            best, chosen = score, encoding
    return chosen


def compress(body: bytes, encoding: str, *, keep: bool = False) -> bytes:
    """`body` encoded; `keep` for an answer compressed once and served many times (higher
    levels: smaller bytes for more CPU once)."""
    if encoding == BROTLI:
        return bytes(brotli.compress(body, quality=9 if keep else 4))
    if encoding == ZSTD:
        return zstandard.ZstdCompressor(level=12 if keep else 3).compress(body)
    if encoding == GZIP:
        # mtime=0: the same answer gives the same bytes (a strong ETag promises that).
        return gzip.compress(body, compresslevel=9 if keep else 6, mtime=0)
    raise ValueError(f"unknown encoding {encoding!r}")
