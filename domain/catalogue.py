"""The catalogue model and its loader.

`db/catalogue.json` is the single source of truth for categories, subcategories, micro services
and their questions. It is loaded and validated once at start-up; a broken file stops the process
with a message that names the offending entry, rather than serving a wizard with holes in it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from domain.errors import CatalogueError

DEFAULT_CATALOGUE_PATH = Path(__file__).resolve().parent.parent / "db" / "catalogue.json"

_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# No slug of the catalogue is longer; a longer one asked for is a definite miss, and is never
# cached, stored or echoed back whole.
MAX_SLUG_LENGTH = 100


def shown(slug: str) -> str:
    """`slug` as messages and logs may quote it: cut at MAX_SLUG_LENGTH."""
    return slug if len(slug) <= MAX_SLUG_LENGTH else slug[:MAX_SLUG_LENGTH] + "..."


_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


class QuestionKind(Enum):
    SINGLE_SELECT = "single_select"
    MULTI_SELECT = "multi_select"
    NUMBER = "number"
    TEXT = "text"
    BOOLEAN = "boolean"
    DATE = "date"

    @property
    def is_select(self) -> bool:
        return self in (QuestionKind.SINGLE_SELECT, QuestionKind.MULTI_SELECT)


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    label: str
    kind: QuestionKind
    required: bool
    options: tuple[Option, ...] = ()
    min: float | None = None
    max: float | None = None
    unit: str | None = None
    block: str | None = None  # the shared block it comes from, None for a trade question

    @property
    def option_values(self) -> frozenset[str]:
        return frozenset(option.value for option in self.options)


@dataclass(frozen=True, slots=True)
class MicroServiceSpec:
    slug: str
    name: str
    description: str
    category: str
    subcategory: str
    position: int
    questions: tuple[Question, ...]  # trade questions first, then the shared blocks

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


@dataclass(frozen=True, slots=True)
class SubcategorySpec:
    slug: str
    name: str
    position: int
    micro_services: tuple[MicroServiceSpec, ...]


@dataclass(frozen=True, slots=True)
class CategorySpec:
    slug: str
    name: str
    position: int
    subcategories: tuple[SubcategorySpec, ...]


@dataclass(frozen=True, slots=True)
class Catalogue:
    categories: tuple[CategorySpec, ...]
    by_slug: Mapping[str, MicroServiceSpec] = field(repr=False)

    def micro_service(self, slug: str) -> MicroServiceSpec | None:
        return self.by_slug.get(slug)

    def micro_services(self) -> Iterator[MicroServiceSpec]:
        for category in self.categories:
            for subcategory in category.subcategories:
                yield from subcategory.micro_services


def load_catalogue(path: Path = DEFAULT_CATALOGUE_PATH) -> Catalogue:
    """Read and validate the catalogue file; raise `CatalogueError` naming the bad entry."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CatalogueError(f"Catalogue file {path} cannot be read: {exc}") from exc
    return parse_catalogue(raw)


def parse_catalogue(raw: Any) -> Catalogue:
    """Validate an already-decoded catalogue document (see `load_catalogue`)."""
    root = _mapping(raw, "catalogue")
    blocks = {
        name: _questions(
            _mapping(block, f"block {name!r}").get("questions"), f"block {name!r}", name
        )
        for name, block in _mapping(root.get("blocks", {}), "blocks").items()
    }
    default_blocks = _block_names(root.get("default_blocks", []), blocks, "default_blocks")

    categories: list[CategorySpec] = []
    by_slug: dict[str, MicroServiceSpec] = {}
    seen_categories: set[str] = set()
    for c_pos, c_raw in enumerate(_list(root.get("categories"), "categories")):
        c_slug = _slug(c_raw, f"categories[{c_pos}]")
        where_c = f"category {c_slug!r}"
        if c_slug in seen_categories:
            raise CatalogueError(f"{where_c} appears twice")
        seen_categories.add(c_slug)
        subcategories: list[SubcategorySpec] = []
        seen_subcategories: set[str] = set()
        for s_pos, s_raw in enumerate(
            _list(c_raw.get("subcategories"), f"{where_c}.subcategories")
        ):
            s_slug = _slug(s_raw, f"{where_c}.subcategories[{s_pos}]")
            where_s = f"subcategory {c_slug}/{s_slug}"
            if s_slug in seen_subcategories:
                raise CatalogueError(f"{where_s} appears twice")
            seen_subcategories.add(s_slug)
            services: list[MicroServiceSpec] = []
            for m_pos, m_raw in enumerate(
                _list(s_raw.get("micro_services"), f"{where_s}.micro_services")
            ):
                m_slug = _slug(m_raw, f"{where_s}.micro_services[{m_pos}]")
                where_m = f"micro service {m_slug!r}"
                if m_slug in by_slug:
                    raise CatalogueError(f"{where_m} appears twice (slugs are global)")
                own = _questions(m_raw.get("questions"), where_m, None)
                if not own:
                    raise CatalogueError(f"{where_m} has no questions of its own")
                names = (
                    _block_names(m_raw["blocks"], blocks, f"{where_m}.blocks")
                    if "blocks" in m_raw
                    else default_blocks
                )
                questions = own + tuple(q for name in names for q in blocks[name])
                _unique((q.id for q in questions), f"{where_m}: question id")
                spec = MicroServiceSpec(
                    slug=m_slug,
                    name=_text(m_raw, "name", where_m),
                    description=str(m_raw.get("description", "")),
                    category=c_slug,
                    subcategory=s_slug,
                    position=m_pos,
                    questions=questions,
                )
                by_slug[m_slug] = spec
                services.append(spec)
            subcategories.append(
                SubcategorySpec(s_slug, _text(s_raw, "name", where_s), s_pos, tuple(services))
            )
        categories.append(
            CategorySpec(c_slug, _text(c_raw, "name", where_c), c_pos, tuple(subcategories))
        )
    return Catalogue(categories=tuple(categories), by_slug=by_slug)


def _questions(raw: Any, where: str, block: str | None) -> tuple[Question, ...]:
    questions = tuple(
        _question(_mapping(q, f"{where}.questions[{i}]"), where, block)
        for i, q in enumerate(_list(raw, f"{where}.questions"))
    )
    _unique((q.id for q in questions), f"{where}: question id")
    return questions


def _question(raw: Mapping[str, Any], where: str, block: str | None) -> Question:
    qid = raw.get("id")
    if not isinstance(qid, str) or not _IDENT.match(qid):
        raise CatalogueError(f"{where}: question id {qid!r} is not a snake_case identifier")
    where_q = f"{where}, question {qid!r}"
    try:
        kind = QuestionKind(raw.get("type"))
    except ValueError:
        raise CatalogueError(f"{where_q}: unknown type {raw.get('type')!r}") from None
    required = raw.get("required")
    if not isinstance(required, bool):
        raise CatalogueError(f"{where_q}: 'required' must be true or false")
    options = tuple(
        _option(_mapping(o, f"{where_q}.options[{i}]"), where_q)
        for i, o in enumerate(_list(raw.get("options", []), f"{where_q}.options"))
    )
    if kind.is_select and len(options) < 2:
        raise CatalogueError(f"{where_q}: a {kind.value} needs at least two options")
    if not kind.is_select and options:
        raise CatalogueError(f"{where_q}: only select questions have options")
    _unique((o.value for o in options), f"{where_q}: option value")
    low, high = _number(raw, "min", where_q), _number(raw, "max", where_q)
    if low is not None and high is not None and low > high:
        raise CatalogueError(f"{where_q}: min {low} is greater than max {high}")
    if (low is not None or high is not None) and kind not in (
        QuestionKind.NUMBER,
        QuestionKind.TEXT,
    ):
        raise CatalogueError(f"{where_q}: min/max apply to number and text questions only")
    unit = raw.get("unit")
    if unit is not None and (kind is not QuestionKind.NUMBER or not isinstance(unit, str)):
        raise CatalogueError(f"{where_q}: 'unit' is a string, for number questions only")
    return Question(
        id=qid,
        label=_text(raw, "label", where_q),
        kind=kind,
        required=required,
        options=options,
        min=low,
        max=high,
        unit=unit,
        block=block,
    )


def _option(raw: Mapping[str, Any], where: str) -> Option:
    value = raw.get("value")
    if not isinstance(value, str) or not _IDENT.match(value):
        raise CatalogueError(f"{where}: option value {value!r} is not a snake_case identifier")
    return Option(value=value, label=_text(raw, "label", f"{where}, option {value!r}"))


def _block_names(raw: Any, blocks: Mapping[str, Any], where: str) -> tuple[str, ...]:
    names = tuple(_list(raw, where))
    for name in names:
        if name not in blocks:
            raise CatalogueError(f"{where}: unknown question block {name!r}")
    return names


def _slug(raw: Any, where: str) -> str:
    slug = _mapping(raw, where).get("slug")
    if not isinstance(slug, str) or not _SLUG.match(slug) or len(slug) > MAX_SLUG_LENGTH:
        raise CatalogueError(f"{where}: slug {slug!r} is not lowercase-kebab-case")
    return slug


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogueError(f"{where}: {key!r} must be a non-empty string")
    return value


def _number(raw: Mapping[str, Any], key: str, where: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CatalogueError(f"{where}: {key!r} must be a number")
    return float(value)


def _mapping(raw: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise CatalogueError(f"{where} must be an object")
    return raw


def _list(raw: Any, where: str) -> Sequence[Any]:
    if not isinstance(raw, list):
        raise CatalogueError(f"{where} must be a list")
    return raw


def _unique(values: Iterator[str] | Any, what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise CatalogueError(f"{what} {value!r} appears twice")
        seen.add(value)
