"""The catalogue file's steps and questions, read and checked: a condition (`show_if`) may
only name an earlier question and one of its values, so conditions never form a cycle and a
wizard evaluates them top to bottom in one pass."""

from __future__ import annotations

from collections.abc import Mapping
from graphlib import CycleError, TopologicalSorter
from typing import Any

from domain.catalogue import fields
from domain.catalogue.model import (
    DEFAULT_STEP,
    FALSE,
    NOT_SURE,
    TRUE,
    Option,
    Question,
    QuestionKind,
    ShowIf,
    StepSpec,
)
from domain.errors import CatalogueError


def parse_steps(raw: Any) -> tuple[StepSpec, ...]:
    steps = tuple(
        StepSpec(
            id=fields.ident(fields.mapping(s, f"steps[{i}]"), "id", f"steps[{i}]"),
            title=fields.text(fields.mapping(s, f"steps[{i}]"), "title", f"steps[{i}]"),
        )
        for i, s in enumerate(fields.sequence(raw, "steps"))
    )
    if not steps:
        raise CatalogueError("steps must not be empty")
    fields.unique((step.id for step in steps), "step id")
    return steps


def step_of(raw: Mapping[str, Any], steps: tuple[StepSpec, ...], where: str) -> str:
    step = raw.get("step", DEFAULT_STEP)
    if step not in {s.id for s in steps}:
        raise CatalogueError(f"{where}: unknown step {step!r}")
    return str(step)


def in_step_order(
    questions: tuple[Question, ...], steps: tuple[StepSpec, ...]
) -> tuple[Question, ...]:
    rank = {step.id: i for i, step in enumerate(steps)}
    # Within a step the shared block's questions come first, so a trade question placed in, say,
    # the property step can branch on the property type; otherwise the file's order stands.
    return tuple(sorted(questions, key=lambda q: (rank[q.step], q.block is None)))


def check_conditions(questions: tuple[Question, ...], where: str) -> None:
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


def parse_questions(
    raw: Any, where: str, block: str | None, steps: tuple[StepSpec, ...], step: str
) -> tuple[Question, ...]:
    questions = tuple(
        _question(fields.mapping(q, f"{where}.questions[{i}]"), where, block, steps, step)
        for i, q in enumerate(fields.sequence(raw, f"{where}.questions"))
    )
    fields.unique((q.id for q in questions), f"{where}: question id")
    return questions


def _question(
    raw: Mapping[str, Any],
    where: str,
    block: str | None,
    steps: tuple[StepSpec, ...],
    default_step: str,
) -> Question:
    qid = raw.get("id")
    if not isinstance(qid, str) or not fields.IDENT.match(qid):
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
        _option(fields.mapping(o, f"{where_q}.options[{i}]"), where_q)
        for i, o in enumerate(fields.sequence(raw.get("options", []), f"{where_q}.options"))
    )
    if kind.is_select and len(options) < 2:
        raise CatalogueError(f"{where_q}: a {kind.value} needs at least two options")
    if not kind.is_select and options:
        raise CatalogueError(f"{where_q}: only select questions have options")
    fields.unique((o.value for o in options), f"{where_q}: option value")
    low, high = fields.number(raw, "min", where_q), fields.number(raw, "max", where_q)
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
    flags = {
        key: fields.flag(raw, key, where_q) for key in ("allow_not_sure", "integer", "exhaustive")
    }
    if flags["integer"] and kind is not QuestionKind.NUMBER:
        raise CatalogueError(f"{where_q}: 'integer' is for number questions only")
    if flags["exhaustive"] and not kind.is_select:
        raise CatalogueError(f"{where_q}: 'exhaustive' is for select questions only")
    step = raw.get("step", default_step)
    if step not in {s.id for s in steps}:
        raise CatalogueError(f"{where_q}: unknown step {step!r}")
    return Question(
        id=qid,
        label=fields.text(raw, "label", where_q),
        kind=kind,
        required=required,
        options=options,
        min=low,
        max=high,
        unit=unit,
        block=block,
        show_if=tuple(
            _show_if(fields.mapping(c, f"{where_q}.show_if[{i}]"), f"{where_q}.show_if[{i}]")
            for i, c in enumerate(fields.sequence(raw.get("show_if", []), f"{where_q}.show_if"))
        ),
        allow_not_sure=flags["allow_not_sure"],
        help=fields.optional_text(raw, "help", where_q),
        placeholder=fields.optional_text(raw, "placeholder", where_q),
        step=str(step),
        integer=flags["integer"],
        exhaustive=flags["exhaustive"],
    )


def _show_if(raw: Mapping[str, Any], where: str) -> ShowIf:
    values = fields.sequence(raw.get("values"), f"{where}.values")
    if not values or not all(isinstance(v, str) for v in values):
        raise CatalogueError(f"{where}: 'values' must be a non-empty list of strings")
    return ShowIf(question_id=fields.ident(raw, "question_id", where), values=tuple(values))


def _option(raw: Mapping[str, Any], where: str) -> Option:
    value = raw.get("value")
    if not isinstance(value, str) or not fields.IDENT.match(value):
        raise CatalogueError(f"{where}: option value {value!r} is not a snake_case identifier")
    return Option(value=value, label=fields.text(raw, "label", f"{where}, option {value!r}"))
