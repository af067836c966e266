"""The engine a running app searches with, upgraded in place once the model is ready."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from domain.catalogue import Catalogue
from search.encoder import shared_encoder
from search.engine import (
    KEYWORDS,
    MODEL_LOADING,
    QUERY_VECTOR_CACHE_SIZE,
    BuildStoppedError,
    Ranking,
    SearchEngine,
    build_engine,
)

log = logging.getLogger("jobwizard.search")


class LiveSearch:
    """Starts on keywords alone, built in a fraction of a second, so start-up never waits for
    the model; a worker thread then loads the model and reads (or computes) the services'
    vectors, and the hybrid engine takes over. Should the model fail to load, search goes on
    with keywords and says so in the log."""

    def __init__(
        self,
        catalogue: Catalogue,
        keywords: Mapping[str, Sequence[str]],
        *,
        semantic: bool,
        cache_dir: Path | None,
        threads: int,
        model_budget: float | None = None,
        query_cache_size: int = QUERY_VECTOR_CACHE_SIZE,
    ) -> None:
        self._catalogue = catalogue
        self._keywords = keywords
        self._semantic = semantic
        self._cache_dir = cache_dir
        self._threads = threads
        self._model_budget = model_budget
        self._query_cache_size = query_cache_size
        self._engine = build_engine(
            catalogue, keywords, semantic=False, max_concurrent_inferences=threads
        )
        self._upgrade: asyncio.Task[None] | None = None
        self._stop = threading.Event()

    @property
    def engine(self) -> SearchEngine:
        return self._engine

    @property
    def hybrid(self) -> bool:
        return self._engine.semantic

    def start(self) -> None:
        if self._semantic and self._upgrade is None:
            self._upgrade = asyncio.get_running_loop().create_task(self._load_model())

    async def ready(self) -> None:
        """Wait until the model is in use (or has failed to load)."""
        if self._upgrade is not None:
            await asyncio.shield(self._upgrade)

    async def search(self, text: str, first: int, *, candidates: int = 0) -> Ranking:
        ranking = await self._engine.search(text, first, candidates=candidates)
        loading = self._upgrade is not None and not self._upgrade.done()
        if loading and ranking.answered_by == KEYWORDS:
            # Keywords answer until the model is loaded; then the same text may rank otherwise.
            ranking.answered_by = MODEL_LOADING
        return ranking

    async def close(self) -> None:
        self._stop.set()
        if self._upgrade is not None:
            self._upgrade.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._upgrade
        self._engine.close()

    async def _load_model(self) -> None:
        try:
            hybrid = await asyncio.to_thread(
                build_engine,
                self._catalogue,
                self._keywords,
                encoder=None,
                cache_dir=self._cache_dir,
                max_concurrent_inferences=self._threads,
                encoder_factory=shared_encoder,
                model_budget=self._model_budget,
                query_cache_size=self._query_cache_size,
                stop=self._stop,
            )
        except BuildStoppedError:
            return
        except Exception:
            log.exception("service search stays on keywords: the embedding model failed to load")
            return
        keywords_only, self._engine = self._engine, hybrid
        keywords_only.close()
        log.info("service search ranks with the embedding model (%s)", hybrid.version)
