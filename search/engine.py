"""The search engine: lexical and semantic scores fused into one ranking of micro services."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from cachetools import LRUCache

from domain.catalogue import Catalogue
from domain.errors import BadUserInputError
from search.encoder import Encoder, Vectors
from search.lexical import Document, LexicalHit, LexicalIndex

MAX_TEXT_LENGTH = 500  # longer text is cut, not refused: the start says what the job is
MIN_FIRST, MAX_FIRST = 1, 20
# Tuned on the evaluation set's tuning rows (tests/data/search_eval.tsv, held_out = 0).
LEXICAL_WEIGHT = 0.3
# Below this a match is noise: nonsense text gets no suggestions rather than random ones.
MIN_SCORE = 0.35
# A lexical ranking this sure of itself (top score, and its lead over the next) is not worth
# the model's time: the model could not overturn it.
DECISIVE_SCORE = 0.9
DECISIVE_LEAD = 0.35
QUERY_VECTOR_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class Match:
    slug: str
    score: float  # 0..1, higher is better
    matched_on: str | None  # the name or keyword that matched, None when only the meaning did


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
        max_concurrent_inferences: int = 2,
    ) -> None:
        self.documents = tuple(documents)
        self.version = version
        self._index = LexicalIndex(self.documents)
        self._encoder = encoder
        self._vectors = vectors
        self._owners = np.asarray(owners, dtype=np.intp)
        # The bound on concurrent inferences: each holds one core while it runs.
        self._executor = ThreadPoolExecutor(
            max_workers=max_concurrent_inferences, thread_name_prefix="search-model"
        )
        self._cache: LRUCache[str, Vectors] = LRUCache(QUERY_VECTOR_CACHE_SIZE)
        self._cache_lock = threading.Lock()

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
        semantic = None if self._decisive(lexical) else self._semantic(text)
        return self._fuse(lexical, semantic, first)

    async def search(self, text: str, first: int = 5) -> list[Match]:
        """Search without holding the event loop while the model runs."""
        text = self.clean(text, first)
        if not text:
            return []
        lexical = self._index.search(text)
        semantic = None
        if not self._decisive(lexical):
            loop = asyncio.get_running_loop()
            semantic = await loop.run_in_executor(self._executor, self._semantic, text)
        return self._fuse(lexical, semantic, first)

    def _decisive(self, lexical: Mapping[int, LexicalHit]) -> bool:
        if self._encoder is None:
            return True
        top = sorted((hit.score for hit in lexical.values()), reverse=True)[:2]
        return (
            bool(top)
            and top[0] >= DECISIVE_SCORE
            and top[0] - (top[1:] or [0.0])[0] >= (DECISIVE_LEAD)
        )

    def _semantic(self, text: str) -> Vectors:
        """Per document, the best cosine similarity between the text and any of its phrasings."""
        assert self._encoder is not None
        key = " ".join(text.lower().split())
        with self._cache_lock:
            query = self._cache.get(key)
        if query is None:
            query = self._encoder.encode([key])[0]
            with self._cache_lock:
                self._cache[key] = query
        similarity = self._vectors @ query
        best = np.full(len(self.documents), -1.0, dtype=np.float32)
        np.maximum.at(best, self._owners, similarity)
        return best

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
    max_concurrent_inferences: int = 2,
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
        encoder = Encoder()
    digest = hashlib.sha256(encoder.fingerprint.encode() if encoder else b"lexical")
    digest.update("\x1f".join(texts).encode())
    version = digest.hexdigest()[:16]
    if encoder is None:
        vectors: Vectors = np.zeros((0, 0), dtype=np.float32)
        owners = []
    else:
        vectors = _vectors(
            encoder, texts, cache_dir / f"vectors-{version}.npy" if cache_dir else None
        )
    return SearchEngine(
        documents,
        encoder,
        vectors,
        owners,
        version=version,
        max_concurrent_inferences=max_concurrent_inferences,
    )


def _vectors(encoder: Encoder, texts: Sequence[str], path: Path | None) -> Vectors:
    if path is not None and path.is_file():
        cached: Vectors = np.load(path, allow_pickle=False).astype(np.float32, copy=False)
        if cached.shape[0] == len(texts):
            return cached
    batch = 64
    vectors = np.concatenate(
        [encoder.encode(texts[i : i + batch]) for i in range(0, len(texts), batch)]
    )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        with partial.open("wb") as file:
            np.save(file, vectors, allow_pickle=False)
        partial.replace(path)
    return vectors
