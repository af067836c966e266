"""The in-process response cache is bounded in bytes (plain and compressed bytes counted), with
a budget per class of answer, and a request's key changes with everything that changes its
answer."""

from api.response_cache import ResponseCache
from schema import schema
from schema.cache_control import ROOT_CLASSES, CacheClass, CachePolicy, hinted_root_fields

POLICY = CachePolicy(300)


def _cache(max_bytes: int) -> ResponseCache:
    """A cache whose whole bound is the OTHER class's, the class an answer is kept in unless
    told."""
    cache = ResponseCache(
        schema=schema._schema,
        max_bytes=max_bytes,
        fingerprint="f",
        search_share=0.0,
        other_share=1.0,
    )
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


def _large_document(n: int, size: int) -> str:
    """A distinct document of about `size` bytes naming a cacheable field; a stray brace ends
    its parse at once, and its verdict (never cacheable) is remembered like any other."""
    head = f"{{ categories {{ slug }} }} }}\n{n} "
    return head + "x" * (size - len(head))


def test_the_memo_of_verdicts_is_bounded_in_bytes_not_only_in_documents() -> None:
    budget = 4 * 1024 * 1024
    cache = ResponseCache(
        schema=schema._schema, max_bytes=0, fingerprint="f", memo_max_bytes=budget
    )
    documents = [_large_document(n, 95_000) for n in range(1_500)]
    for document in documents:
        assert not cache.learn(document, None).cacheable
        assert cache.memo_bytes <= budget
    remembered = [d for d in documents if cache.policy(d, None) is not None]
    assert documents[-1] in remembered  # the least recently used go first
    assert 0 < len(remembered) < len(documents)
    # The accounting is honest: every document still remembered is counted whole.
    assert cache.memo_bytes >= sum(len(d) for d in remembered)
    valid = "query Big { categories { slug } }\n#" + "x" * 95_000
    assert cache.learn(valid, "Big").cacheable
    assert cache.policy(valid, "Big") is not None
    assert cache.memo_bytes <= budget


def test_the_memo_of_request_bytes_is_bounded_in_bytes() -> None:
    budget = 256 * 1024
    cache = ResponseCache(
        schema=schema._schema, max_bytes=0, fingerprint="f", memo_max_bytes=budget
    )
    lookup = cache.locate(0, "{ categories { slug } }", None, None, POLICY)
    raws = [b"query=%d&pad=" % n + bytes(8_000) for n in range(1_500)]
    for raw in raws:
        cache.remember("GET", raw, cache.version, lookup)
        assert cache.memo_bytes <= budget
    assert cache.recall("GET", raws[-1]) == lookup
    remembered = [raw for raw in raws if cache.recall("GET", raw) is not None]
    assert cache.memo_bytes >= sum(map(len, remembered))


def test_each_class_of_answer_is_told_from_its_root_fields() -> None:
    cache = _cache(1000)
    search = "query S($t: String!) { searchServices(text: $t) { score } }"
    both = (
        '{ categories { slug } ...F } fragment F on Query { searchServices(text: "a") { score } }'
    )
    assert cache.learn("{ categories { slug } }", None).kind is CacheClass.CATALOGUE
    assert cache.learn("{ wizardQuestions(categories: []) { __typename } }", None).kind is (
        CacheClass.CATALOGUE
    )
    assert cache.learn(search, "S").kind is CacheClass.SEARCH
    assert cache.learn(both, None).kind is CacheClass.SEARCH  # a search anywhere is a search
    assert set(ROOT_CLASSES) <= hinted_root_fields(schema._schema)


async def test_a_flood_of_searches_pushes_out_searches_only() -> None:
    cache = ResponseCache(
        schema=schema._schema,
        max_bytes=64_000,
        fingerprint="f",
        search_share=0.5,
        other_share=0.125,
    )
    cache.live = lambda: True
    catalogue, other = CacheClass.CATALOGUE, CacheClass.OTHER
    await cache.put("tree", bytes(10_000), 300, catalogue)
    await cache.put("questions", bytes(5_000), 300, catalogue)
    await cache.put("else", bytes(3_000), 300, other)
    for n in range(500):
        await cache.put(f"search{n}", bytes(2_000), 300, CacheClass.SEARCH)
    shares = cache.class_bytes
    assert shares["search"] <= 32_000
    assert cache.get_local("search0", CacheClass.SEARCH) is None  # pushed out by later ones
    assert cache.get_local("search499", CacheClass.SEARCH) is not None
    # The catalogue's and the rest's answers are all still there.
    assert cache.get_local("tree", catalogue) is not None
    assert cache.get_local("questions", catalogue) is not None
    assert cache.get_local("else", other) is not None
    assert cache.local_bytes == sum(shares.values()) <= 64_000
    cache.clear_local()
    assert cache.local_bytes == 0
