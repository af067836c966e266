"""The catalogue model: categories, subcategories, micro services, their questions and steps.

`db/catalogue.json` is the single source of truth for them; `domain/catalogue/loader.py` reads
and validates it into these types once at start-up.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum

# No slug of the catalogue is longer; a longer one asked for is a definite miss, and is never
# cached, stored or echoed back whole.
MAX_SLUG_LENGTH = 100


def shown(slug: str) -> str:
    """`slug` as messages and logs may quote it: cut at MAX_SLUG_LENGTH."""
    return slug if len(slug) <= MAX_SLUG_LENGTH else slug[:MAX_SLUG_LENGTH] + "..."


NOT_SURE = "not_sure"
# Between a service's slug and a question's (or step's) key in the global id: slugs are
# kebab-case and keys snake_case, so neither holds it and the id splits back unambiguously.
ID_SEPARATOR = "/"


def global_id(service: str, key: str) -> str:
    """The id of a service's question or step, unique across the catalogue: normalising client
    caches take `id` to name one object, and keys repeat between services."""
    return f"{service}{ID_SEPARATOR}{key}"


# A boolean answer as a `show_if` value: conditions are strings whatever the question's type.
TRUE, FALSE = "true", "false"
DEFAULT_STEP = "job"


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
class ShowIf:
    """The question is asked only when `question_id`'s answer is one of `values`."""

    question_id: str
    values: tuple[str, ...]


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
    show_if: tuple[ShowIf, ...] = ()
    allow_not_sure: bool = False
    help: str | None = None
    placeholder: str | None = None
    step: str = DEFAULT_STEP
    # A whole number (a count): 1.5 walls is refused.
    integer: bool = False
    # The options cover every case, so a required select needs neither "not sure" nor "other".
    exhaustive: bool = False
    # The micro service that asks it: a shared block's question is one object per service.
    service: str = ""

    @property
    def key(self) -> str:
        """The question's key in `answers`, `show_if` and a step's questions."""
        return self.id

    @property
    def global_id(self) -> str:
        return global_id(self.service, self.id)

    @property
    def option_values(self) -> frozenset[str]:
        return frozenset(option.value for option in self.options)


@dataclass(frozen=True, slots=True)
class StepSpec:
    id: str
    title: str
    question_ids: tuple[str, ...] = ()
    service: str = ""  # the micro service whose page it is; empty in the file's step list

    @property
    def key(self) -> str:
        return self.id

    @property
    def global_id(self) -> str:
        return global_id(self.service, self.id)


@dataclass(frozen=True, slots=True)
class MicroServiceSpec:
    slug: str
    name: str
    description: str
    category: str
    subcategory: str
    position: int
    questions: tuple[Question, ...]  # in step order; within a step, block questions first
    steps: tuple[StepSpec, ...] = ()  # only the steps that hold a question, in order
    active: bool = True  # a retired service stays loadable so old jobs keep their reference
    # What customers type for this job (symptoms, slang, misspellings, brands): for search.
    keywords: tuple[str, ...] = ()

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
        """The services on offer; a retired one (`active: false`) is left out, so the seed
        deactivates it and listings skip it, while `micro_service(slug)` still finds it."""
        return (spec for spec in self.all_micro_services() if spec.active)

    def all_micro_services(self) -> Iterator[MicroServiceSpec]:
        for category in self.categories:
            for subcategory in category.subcategories:
                yield from subcategory.micro_services
