"""Settings of service search and suggestions."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings

from config.paths import ROOT


class SearchSettings(BaseSettings):
    """Service search and suggestions: the embedding model, its caches, the suggestion rollups."""

    search_semantic: bool = Field(
        True,
        description="Rank `searchServices` with the in-process sentence-embedding model as well "
        "as keywords; off: keywords only (no model loaded).",
    )
    search_cache_dir: Path = Field(
        ROOT / ".cache" / "search",
        description="Where the services' embedding vectors are cached, keyed by the model and "
        "the catalogue text (recomputed in the background when either changes).",
    )
    search_inference_threads: int = Field(
        1,
        ge=1,
        le=64,
        description="Embedding inferences run at once per process (each holds one core; the "
        "event loop needs one too, and every worker process has its own).",
    )
    search_model_budget_ms: float = Field(
        12.0,
        ge=0.0,
        le=10_000.0,
        description="The longest a search waits for the embedding model before it answers "
        "from keywords alone (its text then leaves the model's queue); 0: no limit.",
    )
    search_query_cache_size: int = Field(
        4096,
        ge=0,
        le=1_000_000,
        description="Query texts whose embedding vectors are kept (about 1.6 KB each): a text "
        "searched again skips the model. 0 keeps none (every search the keywords do not "
        "settle runs the model, as the search benchmark's cold figures measure).",
    )
    suggestions_refresh_seconds: float = Field(
        900.0,
        ge=0.0,
        description="Seconds between refreshes of the related and popular services rollups "
        "(0: only `python server.py refresh-suggestions`).",
    )
    suggestions_window_days: int = Field(
        180, ge=1, le=3650, description="Two jobs of one customer at most this far apart pair."
    )
    suggestions_lookback_days: int = Field(
        365, ge=1, le=3650, description="Jobs older than this are left out of related services."
    )
    suggestions_min_support: int = Field(
        3, ge=1, le=1_000_000, description="Customers a pair of services needs to be suggested."
    )
