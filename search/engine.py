"""The search engine: lexical and semantic scores fused into one ranking of micro services."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from cachetools import LRUCache
from threadpoolctl import threadpool_limits

from domain.catalogue import Catalogue
from domain.errors import BadUserInputError
from search.encoder import Encoder, Vector, Vectors, release_freed_memory, shared_encoder
from search.lexical import Document, LexicalHit, LexicalIndex

MAX_TEXT_LENGTH = 500  # longer text is cut, not refused: the start says what the job is
MIN_FIRST, MAX_FIRST = 1, 20
# Tuned on the evaluation set's tuning rows (tests/data/search_eval.tsv, held_out = 0).
LEXICAL_WEIGHT = 0.3
# Below this a match is noise: nonsense text gets no suggestions rather than random ones.
MIN_SCORE = 0.35
# A lexical ranking this sure of itself (top score, and its lead over the next) is not worth
# the model's time: the model could not overturn it.
DECISIVE_SCORE = 0.6
DECISIVE_LEAD = 0.25
QUERY_VECTOR_CACHE_SIZE = 4096
MAX_BATCH = 16


@dataclass(frozen=True, slots=True)
class Match:
    slug: str
    score: float  # 0..1, higher is better
    matched_on: str | None  # the name or keyword that matched, None when only the meaning did


# What answered a search: keywords alone (they settled it, or there is no model), the model
# with them, or keywords standing in for a model that was late or is still loading.
KEYWORDS, MODEL, MODEL_LATE, MODEL_LOADING = "keywords", "model", "model_late", "model_loading"


class Ranking(list[Match]):
    """Matches, best first, and what answered them (`answered_by`). Not `final` when the same
    text may be ranked otherwise in a moment (keywords stood in for the model): such an answer
    is served, never kept."""

    def __init__(self, matches: Sequence[Match] = (), *, answered_by: str = KEYWORDS) -> None:
        super().__init__(matches)
        self.answered_by = answered_by

    @property
    def final(self) -> bool:
        return self.answered_by not in (MODEL_LATE, MODEL_LOADING)


class SearchEngine:
    """Ranks micro services for free text. Build with `build_engine`; share one per process."""

    def __init__(
        self,
        documents: Sequence[Document],
        encoder: Encoder | None,
        vectors: Vectors,
        owners: Sequence[int],
        *,
        version: str,
        max_concurrent_inferences: int = 1,
        query_cache_size: int = QUERY_VECTOR_CACHE_SIZE,
        model_budget: float | None = None,
    ) -> None:
        self.documents = tuple(documents)
        self.version = version
        self._index = LexicalIndex(self.documents)
        self._encoder = encoder
        self._vectors = vectors
        # Each document's phrasings are consecutive rows: where each document's rows start.
        owner_ids = np.asarray(owners, dtype=np.intp)
        if len(owner_ids) and (
            np.any(np.diff(owner_ids) < 0) or len(set(owners)) != len(documents)
        ):
            raise ValueError("every document needs phrasings, in document order")
        self._starts = (
            np.flatnonzero(np.r_[True, np.diff(owner_ids) != 0]) if len(owner_ids) else owner_ids
        )
        # The bound on concurrent inferences: each holds one core while it runs.
        self._executor = ThreadPoolExecutor(
            max_workers=max_concurrent_inferences, thread_name_prefix="search-model"
        )
        # Customers retype the same few words (and a debounced box sends each prefix once):
        # their vectors are kept. Size 0 turns this off, for measuring the model itself.
        self._cache: LRUCache[str, Vectors] | None = (
            LRUCache(query_cache_size) if query_cache_size > 0 else None
        )
        self._cache_lock = threading.Lock()
        # The longest a search waits for the model (None: as long as it takes).
        self._budget = model_budget
        self._pending: list[tuple[str, asyncio.Future[Vector]]] = []
        self._max_lanes = max_concurrent_inferences
        self._lanes = 0
        self._tasks: set[asyncio.Task[None]] = set()
        # numpy's BLAS would start threads of its own for each similarity product, fighting
        # the inference threads for the same cores.
        threadpool_limits(1, user_api="blas")

    @property
    def semantic(self) -> bool:
        """Whether the embedding model takes part in the ranking."""
        return self._encoder is not None

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    def clean(text: str, first: int) -> str:
        """The text to search for, cut to length; BAD_USER_INPUT for what cannot be searched."""
        if not MIN_FIRST <= first <= MAX_FIRST:
            raise BadUserInputError(
                f"'first' must be between {MIN_FIRST} and {MAX_FIRST}, got {first}",
                fields={"first": f"between {MIN_FIRST} and {MAX_FIRST}"},
            )
        if "\x00" in text:
            raise BadUserInputError(
                "Text must not contain the NUL character (U+0000).",
                fields={"text": "contains NUL"},
            )
        return text[:MAX_TEXT_LENGTH].strip()

    def rank(self, text: str, first: int = 5) -> list[Match]:
        """Search on the calling thread (tools, benchmarks and tests)."""
        text = self.clean(text, first)
        if not text:
            return []
        lexical = self._index.search(text)
        semantic = None
        if not self._decisive(lexical):
            key = _cache_key(text)
            cached = None
            if self._cache is not None:
                with self._cache_lock:
                    cached = self._cache.get(key)
            vector = cached if cached is not None else self._encode([key])[0]
            semantic = self._similarities(vector)
        return self._fuse(lexical, semantic, first)

    async def search(self, text: str, first: int = 5, *, candidates: int = 0) -> Ranking:
        """Search without holding the event loop while the model runs. `candidates` asks for
        more than `first` (up to that many), for a caller that will drop some of them."""
        text = self.clean(text, first)
        if not text:
            return Ranking()
        lexical = self._index.search(text)
        semantic = None
        answered_by = KEYWORDS
        if not self._decisive(lexical):
            pending = self._query_vector(text)
            vector: Vector | None = None
            if not isinstance(pending, asyncio.Future):
                vector = pending
            else:
                try:
                    vector = await asyncio.wait_for(asyncio.shield(pending), self._budget)
                except TimeoutError:
                    # The model is backed up: answer from keywords now, and take the text out
                    # of the queue, so that the model spends its time on searches still waiting
                    # rather than fall further behind.
                    pending.cancel()
            if vector is not None:
                semantic = self._similarities(vector)
            answered_by = MODEL if vector is not None else MODEL_LATE
        return Ranking(
            self._fuse(lexical, semantic, max(first, min(candidates, MAX_FIRST))),
            answered_by=answered_by,
        )

    def _query_vector(self, text: str) -> Vector | asyncio.Future[Vector]:
        """The text's vector if cached, else a future of it from the next batch."""
        key = _cache_key(text)
        if self._cache is not None:
            with self._cache_lock:
                cached = self._cache.get(key)
            if cached is not None:
                return cached
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Vector] = loop.create_future()
        self._pending.append((key, future))
        if self._lanes < self._max_lanes:
            self._lanes += 1
            task = loop.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return future

    async def _drain(self) -> None:
        """Run the waiting texts through the model, many to a batch: when searches arrive
        together, one batch of eight costs far less than eight single inferences."""
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                waiting = [entry for entry in self._pending if not entry[1].done()]
                batch, self._pending = waiting[:MAX_BATCH], waiting[MAX_BATCH:]
                if not batch:
                    break
                texts = [key for key, _ in batch]
                try:
                    vectors = await loop.run_in_executor(self._executor, self._encode, texts)
                except Exception as exc:  # every waiter hears of it, none is left hanging
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), vector in zip(batch, vectors, strict=True):
                    if not future.done():
                        future.set_result(vector)
        finally:
            self._lanes -= 1

    def _encode(self, keys: list[str]) -> Vectors:
        assert self._encoder is not None
        vectors = self._encoder.encode(keys)
        if self._cache is not None:
            with self._cache_lock:
                for key, vector in zip(keys, vectors, strict=True):
                    self._cache[key] = vector
        return vectors

    def _similarities(self, query: Vector) -> Vector:
        """Per document, the best cosine similarity between the query and any of its phrasings."""
        best: Vector = np.maximum.reduceat(self._vectors @ query, self._starts)
        return best

    def _decisive(self, lexical: Mapping[int, LexicalHit]) -> bool:
        if self._encoder is None:
            return True
        top = sorted((hit.score for hit in lexical.values()), reverse=True)[:2]
        return (
            bool(top)
            and top[0] >= DECISIVE_SCORE
            and top[0] - (top[1:] or [0.0])[0] >= (DECISIVE_LEAD)
        )

    def _fuse(
        self, lexical: Mapping[int, LexicalHit], semantic: Vectors | None, first: int
    ) -> list[Match]:
        scores: dict[int, float] = {}
        if semantic is None:
            scores = {doc: hit.score for doc, hit in lexical.items()}
        else:
            for doc in range(len(self.documents)):
                hit = lexical.get(doc)
                lex = hit.score if hit else 0.0
                scores[doc] = LEXICAL_WEIGHT * lex + (1 - LEXICAL_WEIGHT) * float(semantic[doc])
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        return [
            Match(
                slug=self.documents[doc].slug,
                score=round(min(max(score, 0.0), 1.0), 4),
                matched_on=lexical[doc].matched_on if doc in lexical else None,
            )
            for doc, score in ranked[:first]
            if score >= MIN_SCORE
        ]


def _cache_key(text: str) -> str:
    return " ".join(text.lower().split())


def documents_of(catalogue: Catalogue, keywords: Mapping[str, Sequence[str]]) -> list[Document]:
    """One search document per micro service of the catalogue."""
    return [
        Document(
            slug=service.slug,
            name=service.name,
            path=f"{category.name} > {subcategory.name}",
            description=service.description,
            keywords=tuple(keywords.get(service.slug, ())),
        )
        for category in catalogue.categories
        for subcategory in category.subcategories
        for service in subcategory.micro_services
    ]


def phrasings(document: Document) -> list[str]:
    """The texts embedded for one service: what it is, where it sits, how customers say it."""
    return [
        f"{document.name}. {document.description}",
        f"{document.name} ({document.path})",
        *document.keywords,
    ]


def build_engine(
    catalogue: Catalogue,
    keywords: Mapping[str, Sequence[str]],
    *,
    encoder: Encoder | None = None,
    cache_dir: Path | None = None,
    semantic: bool = True,
    max_concurrent_inferences: int = 1,
    query_cache_size: int = QUERY_VECTOR_CACHE_SIZE,
    encoder_factory: Callable[[Path | None], Encoder] = shared_encoder,
    model_budget: float | None = None,
    stop: threading.Event | None = None,
) -> SearchEngine:
    """Index the catalogue and embed every service's phrasings (or read them from `cache_dir`).

    The vectors are cached under a hash of the model and of every embedded text, so an edited
    catalogue or keyword list is re-embedded and an unchanged one is read back in milliseconds.
    """
    documents = documents_of(catalogue, keywords)
    texts: list[str] = []
    owners: list[int] = []
    for i, document in enumerate(documents):
        for text in phrasings(document):
            texts.append(text)
            owners.append(i)
    if semantic and encoder is None:
        encoder = encoder_factory(cache_dir)
    digest = hashlib.sha256(encoder.fingerprint.encode() if encoder else b"lexical")
    digest.update("\x1f".join(texts).encode())
    version = digest.hexdigest()[:16]
    if encoder is None:
        vectors: Vectors = np.zeros((0, 0), dtype=np.float32)
        owners = []
    else:
        cache = cache_dir / f"vectors-{version}.npy" if cache_dir else None
        vectors = _vectors(encoder, texts, cache, stop)
    return SearchEngine(
        documents,
        encoder,
        vectors,
        owners,
        version=version,
        max_concurrent_inferences=max_concurrent_inferences,
        query_cache_size=query_cache_size,
        model_budget=model_budget,
    )


class BuildStoppedError(Exception):
    """`stop` was set while the services' vectors were being computed."""


def _vectors(
    encoder: Encoder, texts: Sequence[str], path: Path | None, stop: threading.Event | None
) -> Vectors:
    if path is not None and path.is_file():
        cached: Vectors = np.load(path, allow_pickle=False).astype(np.float32, copy=False)
        if cached.shape[0] == len(texts):
            return cached
    batch = 16  # larger batches are barely faster and leave a larger arena behind
    parts = []
    for i in range(0, len(texts), batch):
        # Checked between batches: a server shutting down waits for one batch, not for all.
        if stop is not None and stop.is_set():
            raise BuildStoppedError
        parts.append(encoder.encode(texts[i : i + batch]))
    vectors = np.concatenate(parts)
    release_freed_memory()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        with partial.open("wb") as file:
            np.save(file, vectors, allow_pickle=False)
        partial.replace(path)
    return vectors
