"""Service search: what a customer types -> the micro services they most likely mean.

A hybrid of a typo-tolerant lexical index over the catalogue's names, descriptions, category
names and curated keywords, and a small sentence-embedding model run in-process on the CPU.
Depends only on `domain` and third-party libraries, so any layer above may hold an engine.
"""

from search.engine import Match, Ranking, SearchEngine, build_engine
from search.keywords import load_keywords
from search.live import LiveSearch

__all__ = ["LiveSearch", "Match", "Ranking", "SearchEngine", "build_engine", "load_keywords"]
