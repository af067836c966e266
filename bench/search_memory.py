"""What service search costs one server process in memory, for sizing a fleet: RSS before
search is built, after the first engine (imports, the model, the services' vectors, one
search), and after a second engine in the same process (every app of a process shares the one
model, `search.encoder.shared_encoder`, so the second adds only its vectors).

    .venv/bin/python -m bench.search_memory [CACHE_DIR]

Run it twice with the same CACHE_DIR for the figure of a usual start (the model's int8 rewrite
and the vectors read from the disk cache, as a worker started after the first finds them).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(cache: Path) -> None:
    from config.database import DEFAULT_CATALOGUE_PATH
    from domain.catalogue import load_catalogue

    catalogue = load_catalogue(DEFAULT_CATALOGUE_PATH)
    before = rss_mb()
    from search import build_engine, load_keywords
    from search.encoder import shared_encoder

    keywords = load_keywords(catalogue)
    first = build_engine(catalogue, keywords, cache_dir=cache, encoder_factory=shared_encoder)
    first.rank("my boiler keeps losing pressure", 5)
    one = rss_mb()
    second = build_engine(catalogue, keywords, cache_dir=cache, encoder_factory=shared_encoder)
    second.rank("dripping tap", 5)
    two = rss_mb()
    loads = shared_encoder.cache_info().misses
    print(
        f"RSS before search {before:.0f} MB; first engine +{one - before:.0f} MB; "
        f"a second engine in the same process +{two - one:.0f} MB; model loaded {loads} time(s)"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="jw-rss-")))
