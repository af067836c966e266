"""A typo-tolerant keyword index over the catalogue's text, scored like BM25 without lengths.

Each micro service is a document whose fields (name, curated keywords, category path,
description) carry different weights. A query word matches an indexed stem exactly, within one
or two edits (rapidfuzz's optimal string alignment: a swap of two letters is one edit, so "boilr"
and "servise" still match), or as a prefix while the customer is still typing the last word.
rank_bm25 and friends score plain token lists; field weights and graded fuzzy matches are why
the scoring here is our own.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cachetools import LRUCache
from rapidfuzz import process
from rapidfuzz.distance import OSA

from search.text import fold, stem, tokens, words

# How much a match in each field counts: the name says what the service is; keywords are how
# customers say it; the category path and description only set the scene.
NAME_WEIGHT = 1.0
KEYWORD_WEIGHT = 0.9
PATH_WEIGHT = 0.45
DESCRIPTION_WEIGHT = 0.5
# A multi-word keyword or name found whole in the query ("fuse box", "end of tenancy") is far
# stronger evidence than its words scattered.
PHRASE_BONUS = 0.25
# A fuzzy match costs this much per edit; a prefix of the word being typed counts this much.
EDIT_PENALTY = 0.2
PREFIX_SIMILARITY = 0.75
# Query words beyond this are noise for ranking and cost time.
MAX_QUERY_WORDS = 32
EXPANSION_CACHE = 16384


@dataclass(frozen=True, slots=True)
class Document:
    """One micro service as the index sees it."""

    slug: str
    name: str
    path: str  # "Category > Subcategory"
    description: str
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LexicalHit:
    score: float  # 0..1, more with phrase bonuses
    matched_on: str  # the name, keyword or field text that matched best


class LexicalIndex:
    def __init__(self, documents: Sequence[Document]) -> None:
        self.documents = tuple(documents)
        # stem -> {document index: (weight, the text it came from)}
        postings: dict[str, dict[int, tuple[float, str]]] = defaultdict(dict)
        phrases: list[tuple[int, tuple[str, ...], str]] = []
        for i, doc in enumerate(self.documents):
            fields = [
                (doc.name, NAME_WEIGHT),
                *((keyword, KEYWORD_WEIGHT) for keyword in doc.keywords),
                (doc.path, PATH_WEIGHT),
                (doc.description, DESCRIPTION_WEIGHT),
            ]
            for text, weight in fields:
                stems = tokens(text)
                for s in stems:
                    if postings[s].get(i, (0.0, ""))[0] < weight:
                        postings[s][i] = (weight, text)
                if len(stems) > 1 and weight >= KEYWORD_WEIGHT:
                    phrases.append((i, tuple(stems), text))
            # "flatpack" and "flat pack", "wetroom" and "wet room": the joined form of each
            # two-word keyword is indexed too.
            for keyword in (doc.name, *doc.keywords):
                parts = words(keyword)
                for a, b in itertools.pairwise(parts):
                    joined = stem(a + b)
                    if postings[joined].get(i, (0.0, ""))[0] < KEYWORD_WEIGHT:
                        postings[joined][i] = (KEYWORD_WEIGHT, keyword)
        self._postings = dict(postings)
        self._vocabulary = list(self._postings)
        # Sorted, for the stems that start with a word still being typed: a range, by bisection.
        self._sorted_vocabulary = sorted(self._postings)
        # By length: a stem more than two letters longer or shorter is more than two edits away,
        # so a typo is compared with the stems of about its own length only.
        by_length: dict[int, list[str]] = defaultdict(list)
        for term in self._vocabulary:
            by_length[len(term)].append(term)
        self._by_length = dict(by_length)
        n = len(self.documents)
        self._idf = {
            term: math.log(1 + (n - len(docs) + 0.5) / (len(docs) + 0.5))
            for term, docs in self._postings.items()
        }
        self._phrases = phrases
        # A phrase can only match when its first stem is among the query's: each search looks at
        # those phrases alone, in their original order (by position in `phrases`).
        by_first: dict[str, list[int]] = defaultdict(list)
        for position, (_, phrase, _) in enumerate(phrases):
            by_first[phrase[0]].append(position)
        self._phrases_by_first = dict(by_first)
        # The same few hundred words come up again and again; their expansions are kept.
        self._expansions: LRUCache[tuple[str, bool], dict[str, float]] = LRUCache(EXPANSION_CACHE)

    def expand(self, word: str, *, last: bool) -> dict[str, float]:
        """Indexed stems that a query stem may mean, with how sure: 1 exact, less for typos."""
        key = (word, last)
        found = self._expansions.get(key)
        if found is None:
            found = self._expand(word, last=last)
            self._expansions[key] = found
        return found

    def _expand(self, word: str, *, last: bool) -> dict[str, float]:
        found: dict[str, float] = {}
        if word in self._postings:
            found[word] = 1.0
        if len(word) >= 4:
            limit = 1 if len(word) < 7 else 2
            near = [
                term
                for length in range(len(word) - limit, len(word) + limit + 1)
                for term in self._by_length.get(length, ())
            ]
            for term, distance, _ in process.extract(
                word,
                near,
                scorer=OSA.distance,
                score_cutoff=limit,
                limit=8,
            ):
                if term != word and len(term) >= 3:
                    found[term] = max(found.get(term, 0.0), 1.0 - EDIT_PENALTY * distance)
        if last and len(word) >= 3:
            start = bisect.bisect_left(self._sorted_vocabulary, word)
            following = itertools.islice(self._sorted_vocabulary, start, None)
            for term in itertools.takewhile(lambda t: t.startswith(word), following):
                if term != word:
                    found[term] = max(found.get(term, 0.0), PREFIX_SIMILARITY)
        return found

    def search(self, text: str) -> dict[int, LexicalHit]:
        """{document index: hit} for every document that matched at all."""
        query = tokens(text)[:MAX_QUERY_WORDS]
        if not query:
            return {}
        ends_mid_word = not text.rstrip() or text[-1].isalnum()
        scores: dict[int, float] = defaultdict(float)
        best: dict[int, tuple[float, str]] = {}
        total = 0.0
        matched_stems: list[set[str]] = []
        for position, word in enumerate(dict.fromkeys(query)):
            expanded = self.expand(word, last=ends_mid_word and position == len(query) - 1)
            matched_stems.append(set(expanded))
            if not expanded:
                continue
            total += max(sim * self._idf[term] for term, sim in expanded.items())
            contribution: dict[int, tuple[float, str]] = {}
            for term, sim in expanded.items():
                idf = self._idf[term]
                for doc, (weight, source) in self._postings[term].items():
                    value = sim * idf * weight
                    if value > contribution.get(doc, (0.0, ""))[0]:
                        contribution[doc] = (value, source)
            for doc, (value, source) in contribution.items():
                scores[doc] += value
                if value > best.get(doc, (0.0, ""))[0]:
                    best[doc] = (value, source)
        if total == 0.0:
            return {}
        hits = {doc: score / total for doc, score in scores.items()}
        present = set().union(*matched_stems)
        candidates = sorted(
            position for s in present for position in self._phrases_by_first.get(s, ())
        )
        for position in candidates:
            doc, phrase, source = self._phrases[position]
            if doc in hits and all(s in present for s in phrase):
                hits[doc] += PHRASE_BONUS
                if best[doc][0] != math.inf:  # the first phrase found, the name before keywords
                    best[doc] = (math.inf, source)
        return {doc: LexicalHit(score, best[doc][1]) for doc, score in hits.items()}


def documents_from(
    services: Sequence[tuple[str, str, str, str]], keywords: Mapping[str, Sequence[str]]
) -> list[Document]:
    """Documents from (slug, name, path, description) rows and the keyword lists."""
    return [
        Document(slug, name, path, description, tuple(keywords.get(slug, ())))
        for slug, name, path, description in services
    ]


__all__ = ["Document", "LexicalHit", "LexicalIndex", "documents_from", "fold"]
