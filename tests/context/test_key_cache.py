"""The per-process API-key cache: bounded, trusted only while listening, dropped by a notice,
and never storing a verdict fetched before a drop."""

import time
from uuid import uuid4

from context.key_cache import KeyCache
from domain.api_keys import ApiKey

KEY = ApiKey(id=uuid4(), name="partner", scopes=frozenset({"jobs:write"}))


def _cache(live: bool = True, **kw: float) -> KeyCache:
    options = {"ttl": 30.0, "negative_ttl": 10.0, "max_entries": 2, **kw}
    return KeyCache(
        ttl=options["ttl"],
        negative_ttl=options["negative_ttl"],
        max_entries=int(options["max_entries"]),
        live=lambda: live,
    )


def test_verified_and_unknown_hashes_are_remembered_within_the_bound() -> None:
    cache = _cache()
    cache.put("a", KEY, cache.generation)
    cache.put("b", None, cache.generation)
    assert cache.get("a") == KEY
    assert cache.get("b") is False
    for name in ("c", "d", "e"):  # a flood of unknown hashes: only the newest kept
        cache.put(name, None, cache.generation)
    assert cache.get("b") is None
    assert cache.get("e") is False
    assert cache.get("a") == KEY  # verified keys have a bound of their own


def test_a_drop_forgets_the_key_and_refuses_a_verdict_read_before_it() -> None:
    cache = _cache()
    cache.put("a", KEY, cache.generation)
    before = cache.generation
    cache.drop("a")
    assert cache.get("a") is None
    cache.put("a", KEY, before)  # fetched before the revocation notice: not kept
    assert cache.get("a") is None


def test_not_listening_means_not_trusted_and_zero_ttl_means_no_cache() -> None:
    deaf = _cache(live=False)
    deaf.put("a", KEY, deaf.generation)
    assert deaf.get("a") is None
    off = _cache(ttl=0, negative_ttl=0)
    off.put("a", KEY, off.generation)
    off.put("b", None, off.generation)
    assert off.get("a") is None
    assert off.get("b") is None


def test_a_verified_hash_stays_vouched_for_after_its_verdict_expires_until_dropped() -> None:
    cache = _cache(ttl=0.0001)  # verdicts expire at once
    cache.put("a", KEY, cache.generation)
    cache.put("b", None, cache.generation)
    time.sleep(0.01)
    assert cache.get("a") is None  # no verdict: the next request queries
    assert cache.vouched("a")  # but it was a key: worth that query past the junk gate
    assert not cache.vouched("b")
    cache.drop("a")  # revoked (or changed): no longer vouched for
    assert not cache.vouched("a")
