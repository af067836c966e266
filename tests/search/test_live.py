import asyncio
import logging
import threading
from pathlib import Path

import pytest

from domain.catalogue import Catalogue
from search import LiveSearch, build_engine, load_keywords
from search.encoder import Encoder, ModelMissingError, Vectors
from search.engine import BuildStoppedError


async def test_starts_on_keywords_then_the_model_takes_over(
    request: pytest.FixtureRequest, catalogue: Catalogue
) -> None:
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    cache_dir = cache.mkdir("search-vectors") if cache is not None else None
    live = LiveSearch(
        catalogue, load_keywords(catalogue), semantic=True, cache_dir=cache_dir, threads=2
    )
    try:
        assert not live.hybrid
        assert (await live.search("dripping tap", 1))[0].slug == "tap-repair-replacement"
        live.start()
        await live.ready()
        assert live.hybrid
        assert (await live.search("boilr servise", 1))[0].slug == "boiler-service"
    finally:
        await live.close()


async def test_a_model_that_fails_to_load_leaves_keyword_search(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def missing(cache_dir: Path | None) -> Encoder:
        raise ModelMissingError("model.onnx is not installed")

    monkeypatch.setattr("search.live.shared_encoder", missing)
    live = LiveSearch(catalogue, load_keywords(catalogue), semantic=True, cache_dir=None, threads=1)
    try:
        with caplog.at_level(logging.ERROR, logger="jobwizard.search"):
            live.start()
            await live.ready()
        assert not live.hybrid
        assert "stays on keywords" in caplog.text
        assert (await live.search("loo", 1))[0].slug == "toilet-repair"
    finally:
        await live.close()


async def test_with_the_model_off_nothing_is_loaded(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Recorded here and asserted after: an exception raised inside the loader would be caught
    # and logged by LiveSearch itself, so it could never fail this test.
    loads: list[Path | None] = []

    def recording(cache_dir: Path | None) -> Encoder:
        loads.append(cache_dir)
        raise ModelMissingError("the model was loaded")

    monkeypatch.setattr("search.live.shared_encoder", recording)
    live = LiveSearch(
        catalogue, load_keywords(catalogue), semantic=False, cache_dir=None, threads=1
    )
    try:
        live.start()
        await live.ready()
        assert not live.hybrid
    finally:
        await live.close()
    assert loads == []


class _CountingEncoder(Encoder):
    def __init__(self) -> None:
        super().__init__()
        self.texts = 0

    def encode(self, texts: list[str]) -> Vectors:  # type: ignore[override]
        self.texts += len(texts)
        return super().encode(texts)


def test_a_stop_ends_the_embedding_of_the_catalogue_between_batches(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    stop = threading.Event()
    stop.set()
    encoder = _CountingEncoder()
    with pytest.raises(BuildStoppedError):
        build_engine(
            catalogue, load_keywords(catalogue), encoder=encoder, cache_dir=tmp_path, stop=stop
        )
    # The model was loaded, and then not one batch embedded: no vectors were written.
    assert encoder.texts == 0
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith("vectors")] == []


async def test_closing_during_the_upgrade_leaves_keyword_search(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    live = LiveSearch(
        catalogue, load_keywords(catalogue), semantic=True, cache_dir=tmp_path, threads=1
    )
    live.start()
    await asyncio.sleep(0)
    await live.close()
    assert not live.hybrid
