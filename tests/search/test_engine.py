import asyncio
import time
from pathlib import Path

import numpy as np
import pytest

from domain.catalogue import Catalogue
from domain.errors import BadUserInputError
from search import SearchEngine, build_engine, load_keywords
from search.encoder import Encoder, Vectors
from search.engine import MAX_TEXT_LENGTH, MODEL, MODEL_LATE
from tests.support.polling import eventually


def _slugs(engine: SearchEngine, text: str, first: int = 3) -> list[str]:
    return [match.slug for match in engine.rank(text, first)]


@pytest.mark.parametrize("text", ["", "   ", "\t\n", "?!", "the and of"])
async def test_empty_or_meaningless_text_finds_nothing(engine: SearchEngine, text: str) -> None:
    assert await engine.search(text) == []


@pytest.mark.parametrize("first", [0, -1, 21, 1000])
async def test_first_outside_one_to_twenty_is_bad_user_input(
    engine: SearchEngine, first: int
) -> None:
    with pytest.raises(BadUserInputError) as error:
        await engine.search("boiler", first)
    assert error.value.fields == {"first": "between 1 and 20"}


async def test_nul_is_refused(engine: SearchEngine) -> None:
    with pytest.raises(BadUserInputError):
        await engine.search("boiler\x00 service")


async def test_text_over_the_limit_is_cut_not_refused(engine: SearchEngine) -> None:
    text = "dripping kitchen tap " + "x" * (MAX_TEXT_LENGTH * 4)
    assert engine.clean(text, 5) == text[:MAX_TEXT_LENGTH].strip()
    matches = await engine.search(text)
    assert matches[0].slug == "tap-repair-replacement"


@pytest.mark.parametrize("first", [1, 5, 20])
async def test_first_bounds_the_number_and_matches_come_best_first(
    engine: SearchEngine, first: int
) -> None:
    matches = await engine.search("paint", first)
    assert 1 <= len(matches) <= first
    scores = [match.score for match in matches]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= score <= 1.0 for score in scores)


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("boilr servise", "boiler-service"),  # typos
        ("dripping kitchen tap", "tap-repair-replacement"),
        ("moldy caulk round the bath", "bath-shower-resealing"),  # American spelling
        ("fuse box", "consumer-unit-replacement"),
        ("ikea flatpack wardrobe", "furniture-assembly"),
        ("FLAT-PACK!!!", "furniture-assembly"),  # case and punctuation
    ],
)
def test_what_customers_type_finds_the_service(engine: SearchEngine, text: str, slug: str) -> None:
    assert _slugs(engine, text, 1) == [slug]


def test_the_word_being_typed_matches_as_a_prefix(engine: SearchEngine) -> None:
    assert _slugs(engine, "boile", 3)[0].startswith("boiler-")
    assert "wallpaper-hanging" in _slugs(engine, "wallpap", 3)


def test_matched_on_names_the_keyword_or_name_that_matched(engine: SearchEngine) -> None:
    top = engine.rank("loo", 1)[0]
    assert (top.slug, top.matched_on) == ("toilet-repair", "loo")
    assert engine.rank("Boiler service", 1)[0].matched_on == "Boiler service"


def test_nonsense_gets_no_suggestions(engine: SearchEngine) -> None:
    assert engine.rank("qwertyuiop zxcvb", 5) == []


async def test_concurrent_searches_leave_the_event_loop_responsive(engine: SearchEngine) -> None:
    texts = [f"something wrong with my {thing}" for thing in ("heating", "drains", "roof")] * 8
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    results = await asyncio.gather(*(engine.search(text) for text in texts))
    done.set()
    await tick
    assert all(results)
    # The model runs on worker threads: the loop is never held for a whole batch of inferences.
    assert max(gaps) < 0.1


class _CountingEncoder(Encoder):
    def __init__(self) -> None:
        super().__init__()
        self.texts = 0

    def encode(self, texts: list[str]) -> Vectors:  # type: ignore[override]
        self.texts += len(texts)
        return super().encode(texts)


def test_service_vectors_are_cached_on_disk_by_content(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    keywords = load_keywords(catalogue)
    encoder = _CountingEncoder()
    first = build_engine(catalogue, keywords, encoder=encoder, cache_dir=tmp_path)
    embedded = encoder.texts
    assert embedded > len(first.documents)
    second = build_engine(catalogue, keywords, encoder=encoder, cache_dir=tmp_path)
    assert encoder.texts == embedded  # read back, not recomputed
    assert second.version == first.version
    changed = dict(keywords)
    changed["wall-painting"] = (*changed["wall-painting"], "paint my walls please")
    third = build_engine(catalogue, changed, encoder=encoder, cache_dir=tmp_path)
    assert third.version != first.version
    assert encoder.texts > embedded
    assert len(list(tmp_path.glob("vectors-*.npy"))) == 2
    for built in (first, second, third):
        built.close()


def test_without_the_model_the_lexical_ranking_still_answers(catalogue: Catalogue) -> None:
    lexical = build_engine(catalogue, load_keywords(catalogue), semantic=False)
    try:
        assert _slugs(lexical, "boilr servise", 1) == ["boiler-service"]
    finally:
        lexical.close()


def test_vectors_are_unit_length(engine: SearchEngine) -> None:
    encoder = Encoder()
    vectors = encoder.encode(["a dripping tap", "new boiler"])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


async def test_a_late_model_answers_from_keywords_and_keeps_the_vector(
    request: pytest.FixtureRequest, catalogue: Catalogue
) -> None:
    cache = getattr(request.config, "cache", None)
    hurried = build_engine(
        catalogue,
        load_keywords(catalogue),
        cache_dir=cache.mkdir("search-vectors") if cache is not None else None,
        model_budget=1e-6,
    )
    try:
        text = "water coming through my kitchen ceiling"  # not decided by keywords alone
        first = await hurried.search(text, 3)
        assert first.answered_by == MODEL_LATE
        assert first  # the keyword ranking, given at once
        # The batch finishes in the background and caches the vector.
        await eventually(
            lambda: not hurried._pending and not hurried._lanes, what="the late batch finished"
        )
        again = await hurried.search(text, 3)
        assert again.answered_by == MODEL  # served with the model this time
        assert again == hurried.rank(text, 3)
    finally:
        hurried.close()


class _SlowEncoder(Encoder):
    """Records what it embeds, and takes its time about it (as a backed-up model does)."""

    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def encode(self, texts: list[str]) -> Vectors:  # type: ignore[override]
        time.sleep(0.3)
        self.embedded.extend(texts)
        return super().encode(texts)


async def test_a_text_still_queued_when_its_search_gives_up_is_never_embedded(
    request: pytest.FixtureRequest, catalogue: Catalogue
) -> None:
    cache = getattr(request.config, "cache", None)
    keywords = load_keywords(catalogue)
    vectors = cache.mkdir("search-vectors") if cache is not None else None
    build_engine(catalogue, keywords, cache_dir=vectors).close()  # the vectors, on disk
    encoder = _SlowEncoder()
    hurried = build_engine(
        catalogue, keywords, encoder=encoder, cache_dir=vectors, model_budget=0.05
    )
    encoder.embedded.clear()
    try:
        # Neither is decided by keywords alone; the first occupies the model, the second waits.
        busy = asyncio.ensure_future(hurried.search("water coming through my kitchen ceiling"))
        await eventually(lambda: bool(hurried._lanes), what="its batch started")
        queued = await hurried.search("damp patch on bedroom wall")
        assert queued  # answered from keywords
        assert queued.answered_by == MODEL_LATE
        assert (await busy).answered_by == MODEL_LATE
        # The first batch finishes; no second one starts.
        await eventually(lambda: not hurried._lanes, what="the first batch finished")
        assert encoder.embedded == ["water coming through my kitchen ceiling"]
    finally:
        hurried.close()
