"""schema.graphql, the reviewed API contract, is what the code serves."""

from __future__ import annotations

from pathlib import Path

from schema import schema

SDL = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_exported_sdl_matches_the_code() -> None:
    assert SDL.read_text(encoding="utf-8") == schema.as_str() + "\n", (
        "schema.graphql is stale: run `make schema` and commit the result"
    )
