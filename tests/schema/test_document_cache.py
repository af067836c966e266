"""The document cache: a repeated document is parsed and validated once, errors still flow."""

import uuid

from schema import document_cache
from schema.document_cache import DocumentCache
from tests.support import AppHarness


def _unique_query() -> str:
    # A document no earlier test sent: the cache is process-wide.
    return f'{{ q{uuid.uuid4().hex}: microService(slug: "wall-painting") {{ slug }} }}'


async def test_a_repeated_document_is_parsed_and_validated_once(api: AppHarness) -> None:
    query = _unique_query()
    before = (document_cache.stats.parses, document_cache.stats.validations)
    for _ in range(3):
        body = await api.graphql(query)
        assert "errors" not in body
    after = (document_cache.stats.parses, document_cache.stats.validations)
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)


async def test_a_new_document_is_parsed_again(api: AppHarness) -> None:
    before = document_cache.stats.parses
    await api.graphql(_unique_query())
    await api.graphql(_unique_query())
    assert document_cache.stats.parses - before == 2


async def test_a_repeated_invalid_document_is_rejected_every_time(api: AppHarness) -> None:
    query = f"{{ q{uuid.uuid4().hex}: microService(slug: 1) {{ nope }} }}"
    before = document_cache.stats.validations
    codes = []
    for _ in range(2):
        body = await api.graphql(query)
        assert body.get("data") is None  # failed before execution: no data at all
        codes.append({e["extensions"]["code"] for e in body["errors"]})
    assert codes == [{"GRAPHQL_VALIDATION_FAILED"}] * 2
    assert document_cache.stats.validations - before == 1


async def test_a_syntax_error_is_reported_and_not_cached(api: AppHarness) -> None:
    size = len(document_cache)
    body = await api.graphql("{ microService(slug: ")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert len(document_cache) <= size


def test_the_cache_is_bounded_and_evicts_the_least_recently_used() -> None:
    cache = DocumentCache(maxsize=2)
    first = cache.document("{ a }", {})
    cache.document("{ b }", {})
    assert cache.document("{ a }", {}) is first  # a is now the most recent
    cache.document("{ c }", {})  # evicts b
    assert len(cache) == 2
    parses = cache.stats.parses
    assert cache.document("{ a }", {}) is first
    cache.document("{ b }", {})
    assert cache.stats.parses == parses + 1


def test_the_cache_is_bounded_in_bytes_of_text_not_only_in_entries() -> None:
    cache = DocumentCache(maxsize=1000, max_bytes=5_000_000)
    padding = "#" + "x" * 50_000 + "\n"  # a comment: 50 KB of text, one cheap document
    for i in range(100):
        cache.document(f"{padding}query Q{i} {{ __typename }}", {})
    assert len(cache) <= 5
    huge = "#" + "y" * 1_000_000 + "\n{ __typename }"
    cache.document(huge, {})  # larger than the whole cache: parsed, never kept
    assert len(cache) <= 5


def test_an_evicted_document_is_freed_without_waiting_for_the_cyclic_collector() -> None:
    import gc

    cache = DocumentCache(maxsize=1)
    fields = " ".join(f"a{i}: __typename" for i in range(500))  # about 1500 tokens
    cache.document(f"query A{uuid.uuid4().hex} {{ {fields} }}", {})
    gc.collect()
    gc.disable()
    try:
        cache.document(f"query B{uuid.uuid4().hex} {{ __typename }}", {})  # evicts the first
        # Freed by reference counting alone: the collector finds no cycle of its tokens left.
        assert gc.collect() < 100
    finally:
        gc.enable()
