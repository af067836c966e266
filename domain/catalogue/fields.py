"""Readers of the catalogue file's raw JSON values: each returns the value in its type or
raises `CatalogueError` naming where in the file it is."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from domain.catalogue.model import MAX_SLUG_LENGTH
from domain.errors import CatalogueError

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


def flag(raw: Mapping[str, Any], key: str, where: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise CatalogueError(f"{where}: {key!r} must be true or false")
    return value


def ident(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not IDENT.match(value):
        raise CatalogueError(f"{where}: {key} {value!r} is not a snake_case identifier")
    return value


def optional_text(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    return text(raw, key, where) if key in raw else None


def slug(raw: Any, where: str) -> str:
    value = mapping(raw, where).get("slug")
    if not isinstance(value, str) or not SLUG.match(value) or len(value) > MAX_SLUG_LENGTH:
        raise CatalogueError(f"{where}: slug {value!r} is not lowercase-kebab-case")
    return value


def text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogueError(f"{where}: {key!r} must be a non-empty string")
    return value


def number(raw: Mapping[str, Any], key: str, where: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CatalogueError(f"{where}: {key!r} must be a number")
    return float(value)


def mapping(raw: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise CatalogueError(f"{where} must be an object")
    return raw


def sequence(raw: Any, where: str) -> Sequence[Any]:
    if not isinstance(raw, list):
        raise CatalogueError(f"{where} must be a list")
    return raw


def unique(values: Iterator[str] | Any, what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise CatalogueError(f"{what} {value!r} appears twice")
        seen.add(value)
