"""The in-process response cache is bounded in bytes (plain and compressed bytes counted), and
a request's key changes with everything that changes its answer."""

from api.response_cache import ResponseCache
from schema import schema
from schema.cache_control import CachePolicy

POLICY = CachePolicy(300)


def _cache(max_bytes: int) -> ResponseCache:
    cache = ResponseCache(schema=schema._schema, max_bytes=max_bytes, fingerprint="f")
    cache.live = lambda: True
    return cache


async def test_the_bound_is_in_bytes_and_oldest_answers_go_first() -> None:
    cache = _cache(10_000)
    for n in range(10):
        await cache.put(f"k{n}", bytes(2_000), 300)
        assert cache.local_bytes <= 10_000
    assert cache.get_local("k0") is None  # pushed out
    assert cache.get_local("k9") is not None
    entry = cache.get_local("k9")
    assert entry is not None
    before = cache.local_bytes
    await cache.encoded("k9", entry, "gzip")
    assert cache.local_bytes > before  # the compressed bytes count too
    await cache.put("huge", bytes(20_000), 300)  # larger than the bound: not kept
    assert cache.get_local("huge") is None


def test_the_key_changes_with_version_document_operation_and_variables() -> None:
    cache = _cache(1000)
    base = cache.locate(1, "{ categories { slug } }", None, {"a": 1, "b": 2}, POLICY)
    same = cache.locate(1, "{ categories { slug } }", None, {"b": 2, "a": 1}, POLICY)
    assert base == same  # variables compared as canonical JSON
    for other in (
        cache.locate(2, "{ categories { slug } }", None, {"a": 1, "b": 2}, POLICY),
        cache.locate(1, "{ categories { name } }", None, {"a": 1, "b": 2}, POLICY),
        cache.locate(1, "{ categories { slug } }", "Q", {"a": 1, "b": 2}, POLICY),
        cache.locate(1, "{ categories { slug } }", None, {"a": 1, "b": 3}, POLICY),
    ):
        assert other.key != base.key
        assert other.etag != base.etag
    assert base.etag.startswith('"c1-')
