"""The catalogue's loader: reads the catalogue file and validates it into the model.

It is loaded and validated once at start-up; a broken file stops the process with a message that
names the offending entry, rather than serving a wizard with holes in it.

A question may be shown only under conditions on earlier answers (`show_if`), may accept
`"not_sure"` (`allow_not_sure`) and belongs to a wizard step; the loader refuses a condition on an
unknown or later question, so the conditions can never form a cycle and a wizard can evaluate
them top to bottom in one pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

from domain.catalogue.model import (
    DEFAULT_STEP,
    FALSE,
    MAX_SLUG_LENGTH,
    NOT_SURE,
    TRUE,
    Catalogue,
    CategorySpec,
    MicroServiceSpec,
    Option,
    Question,
    QuestionKind,
    ShowIf,
    StepSpec,
    SubcategorySpec,
)
from domain.errors import CatalogueError

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


def load_catalogue(path: Path) -> Catalogue:
    """Read and validate the catalogue file at `path` (the `CATALOGUE_PATH` setting); raise
    `CatalogueError` naming the bad entry."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CatalogueError(f"Catalogue file {path} cannot be read: {exc}") from exc
    return parse_catalogue(raw)


def parse_catalogue(raw: Any) -> Catalogue:
    """Validate an already-decoded catalogue document (see `load_catalogue`)."""
    root = _mapping(raw, "catalogue")
    steps = _steps(root.get("steps", [{"id": DEFAULT_STEP, "title": "The job"}]))
    blocks = {
        name: _questions(
            _mapping(block, f"block {name!r}").get("questions"),
            f"block {name!r}",
            name,
            steps,
            _step_of(_mapping(block, f"block {name!r}"), steps, f"block {name!r}"),
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
                own = _questions(m_raw.get("questions"), where_m, None, steps, DEFAULT_STEP)
                if not own:
                    raise CatalogueError(f"{where_m} has no questions of its own")
                names = (
                    _block_names(m_raw["blocks"], blocks, f"{where_m}.blocks")
                    if "blocks" in m_raw
                    else default_blocks
                )
                questions = _in_step_order(
                    own + tuple(q for name in names for q in blocks[name]), steps
                )
                _unique((q.id for q in questions), f"{where_m}: question id")
                _check_conditions(questions, where_m)
                active = m_raw.get("active", True)
                if not isinstance(active, bool):
                    raise CatalogueError(f"{where_m}: 'active' must be true or false")
                spec = MicroServiceSpec(
                    slug=m_slug,
                    name=_text(m_raw, "name", where_m),
                    description=str(m_raw.get("description", "")),
                    category=c_slug,
                    subcategory=s_slug,
                    position=m_pos,
                    questions=questions,
                    steps=tuple(
                        StepSpec(step.id, step.title, ids)
                        for step in steps
                        if (ids := tuple(q.id for q in questions if q.step == step.id))
                    ),
                    active=active,
                    keywords=_keywords(m_raw, where_m),
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


def _steps(raw: Any) -> tuple[StepSpec, ...]:
    steps = tuple(
        StepSpec(
            id=_ident(_mapping(s, f"steps[{i}]"), "id", f"steps[{i}]"),
            title=_text(_mapping(s, f"steps[{i}]"), "title", f"steps[{i}]"),
        )
        for i, s in enumerate(_list(raw, "steps"))
    )
    if not steps:
        raise CatalogueError("steps must not be empty")
    _unique((step.id for step in steps), "step id")
    return steps


def _step_of(raw: Mapping[str, Any], steps: tuple[StepSpec, ...], where: str) -> str:
    step = raw.get("step", DEFAULT_STEP)
    if step not in {s.id for s in steps}:
        raise CatalogueError(f"{where}: unknown step {step!r}")
    return str(step)


def _in_step_order(
    questions: tuple[Question, ...], steps: tuple[StepSpec, ...]
) -> tuple[Question, ...]:
    rank = {step.id: i for i, step in enumerate(steps)}
    # Within a step the shared block's questions come first, so a trade question placed in, say,
    # the property step can branch on the property type; otherwise the file's order stands.
    return tuple(sorted(questions, key=lambda q: (rank[q.step], q.block is None)))


def _check_conditions(questions: tuple[Question, ...], where: str) -> None:
    """Every condition names an earlier question of the same service and values it can have."""
    by_id = {q.id: q for q in questions}
    for question in questions:
        for condition in question.show_if:
            if condition.question_id not in by_id:
                raise CatalogueError(
                    f"{where}, question {question.id!r}: show_if names unknown question "
                    f"{condition.question_id!r}"
                )
    _refuse_cycles(questions, where)
    seen: set[str] = set()
    for question in questions:
        for condition in question.show_if:
            if condition.question_id not in seen:
                raise CatalogueError(
                    f"{where}, question {question.id!r}: show_if names "
                    f"{condition.question_id!r}, which is asked later"
                )
            parent = by_id[condition.question_id]
            possible = _condition_values(parent)
            if possible is None:
                raise CatalogueError(
                    f"{where}, question {question.id!r}: show_if on {parent.id!r}, a "
                    f"{parent.kind.value} question (only selects and yes/no can branch)"
                )
            bad = [v for v in condition.values if v not in possible]
            if bad:
                raise CatalogueError(
                    f"{where}, question {question.id!r}: show_if value {bad[0]!r} is not "
                    f"an answer {parent.id!r} can have"
                )
        seen.add(question.id)


def _refuse_cycles(questions: tuple[Question, ...], where: str) -> None:
    graph = {q.id: [c.question_id for c in q.show_if] for q in questions}
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise CatalogueError(f"{where}: show_if conditions form a cycle: {cycle}") from None


def _condition_values(question: Question) -> frozenset[str] | None:
    extra = {NOT_SURE} if question.allow_not_sure else set()
    if question.kind.is_select:
        return question.option_values | extra
    if question.kind is QuestionKind.BOOLEAN:
        return frozenset({TRUE, FALSE} | extra)
    return None


def _questions(
    raw: Any, where: str, block: str | None, steps: tuple[StepSpec, ...], step: str
) -> tuple[Question, ...]:
    questions = tuple(
        _question(_mapping(q, f"{where}.questions[{i}]"), where, block, steps, step)
        for i, q in enumerate(_list(raw, f"{where}.questions"))
    )
    _unique((q.id for q in questions), f"{where}: question id")
    return questions


def _question(
    raw: Mapping[str, Any],
    where: str,
    block: str | None,
    steps: tuple[StepSpec, ...],
    default_step: str,
) -> Question:
    qid = raw.get("id")
    if not isinstance(qid, str) or not IDENT.match(qid):
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
    flags = {key: _flag(raw, key, where_q) for key in ("allow_not_sure", "integer", "exhaustive")}
    if flags["integer"] and kind is not QuestionKind.NUMBER:
        raise CatalogueError(f"{where_q}: 'integer' is for number questions only")
    if flags["exhaustive"] and not kind.is_select:
        raise CatalogueError(f"{where_q}: 'exhaustive' is for select questions only")
    step = raw.get("step", default_step)
    if step not in {s.id for s in steps}:
        raise CatalogueError(f"{where_q}: unknown step {step!r}")
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
        show_if=tuple(
            _show_if(_mapping(c, f"{where_q}.show_if[{i}]"), f"{where_q}.show_if[{i}]")
            for i, c in enumerate(_list(raw.get("show_if", []), f"{where_q}.show_if"))
        ),
        allow_not_sure=flags["allow_not_sure"],
        help=_optional_text(raw, "help", where_q),
        placeholder=_optional_text(raw, "placeholder", where_q),
        step=str(step),
        integer=flags["integer"],
        exhaustive=flags["exhaustive"],
    )


def _show_if(raw: Mapping[str, Any], where: str) -> ShowIf:
    values = _list(raw.get("values"), f"{where}.values")
    if not values or not all(isinstance(v, str) for v in values):
        raise CatalogueError(f"{where}: 'values' must be a non-empty list of strings")
    return ShowIf(question_id=_ident(raw, "question_id", where), values=tuple(values))


def _flag(raw: Mapping[str, Any], key: str, where: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise CatalogueError(f"{where}: {key!r} must be true or false")
    return value


def _ident(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not IDENT.match(value):
        raise CatalogueError(f"{where}: {key} {value!r} is not a snake_case identifier")
    return value


def _optional_text(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    return _text(raw, key, where) if key in raw else None


def _option(raw: Mapping[str, Any], where: str) -> Option:
    value = raw.get("value")
    if not isinstance(value, str) or not IDENT.match(value):
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
    if not isinstance(slug, str) or not SLUG.match(slug) or len(slug) > MAX_SLUG_LENGTH:
        raise CatalogueError(f"{where}: slug {slug!r} is not lowercase-kebab-case")
    return slug


# A keyword longer than this is a sentence, not a keyword: refused, so that a mistake in the file
# cannot slow every search down.
MAX_KEYWORD_LENGTH = 60


def _keywords(raw: Mapping[str, Any], where: str) -> tuple[str, ...]:
    terms = raw.get("keywords", [])
    if not isinstance(terms, list) or not all(isinstance(term, str) for term in terms):
        raise CatalogueError(f"{where}: 'keywords' must be a list of strings")
    for term in terms:
        if not term.strip() or len(term) > MAX_KEYWORD_LENGTH:
            raise CatalogueError(
                f"{where}: keyword {term!r} must be 1 to {MAX_KEYWORD_LENGTH} characters"
            )
    return tuple(dict.fromkeys(term.strip() for term in terms))


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
