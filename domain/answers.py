"""Validation of a job's answers against its micro service's questions.

Every fault is collected, not just the first, so that a wizard can mark all the bad fields at
once and a partner can fix its payload in one round trip.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any

from domain.catalogue import MicroServiceSpec, Question, QuestionKind
from domain.errors import BadUserInputError

REQUIRED = "This question is required."


def validate_answers(spec: MicroServiceSpec, answers: Any) -> dict[str, Any]:
    """Return the answers to store (nulls for optional questions dropped) or raise
    `BadUserInputError` whose `fields` maps each faulty question id to a message."""
    if not isinstance(answers, Mapping):
        raise BadUserInputError("'answers' must be a JSON object of question id -> answer.")
    faults: dict[str, str] = {}
    clean: dict[str, Any] = {}
    known = {question.id for question in spec.questions}
    for key in answers:
        if key not in known:
            faults[str(key)] = f"Unknown question id for micro service '{spec.slug}'."
    for question in spec.questions:
        value = answers.get(question.id)
        if value is None:
            if question.required:
                faults[question.id] = REQUIRED
            continue
        fault = _check(question, value)
        if fault is None:
            clean[question.id] = value
        else:
            faults[question.id] = fault
    if faults:
        raise BadUserInputError(
            f"{len(faults)} answer(s) for '{spec.slug}' are not valid.", fields=faults
        )
    return clean


def _check(question: Question, value: Any) -> str | None:
    match question.kind:
        case QuestionKind.SINGLE_SELECT:
            if not isinstance(value, str):
                return "Expected one option value (a string)."
            return _offered(question, [value])
        case QuestionKind.MULTI_SELECT:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return "Expected a list of option values."
            if question.required and not value:
                return REQUIRED
            if len(set(value)) != len(value):
                return "An option is chosen more than once."
            return _offered(question, value)
        case QuestionKind.NUMBER:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return "Expected a number."
            if not math.isfinite(value):
                return "Expected a finite number."
            return _in_range(question, float(value))
        case QuestionKind.TEXT:
            if not isinstance(value, str):
                return "Expected text."
            if question.required and not value.strip():
                return REQUIRED
            if question.max is not None and len(value) > question.max:
                return f"Must be at most {question.max:g} characters."
            return None
        case QuestionKind.BOOLEAN:
            return None if isinstance(value, bool) else "Expected true or false."
        case QuestionKind.DATE:
            if not isinstance(value, str):
                return "Expected a date as YYYY-MM-DD."
            try:
                date.fromisoformat(value)
            except ValueError:
                return "Expected a date as YYYY-MM-DD."
            return None


def _offered(question: Question, values: list[str]) -> str | None:
    offered = question.option_values
    bad = [v for v in values if v not in offered]
    if not bad:
        return None
    choices = ", ".join(option.value for option in question.options)
    return f"'{bad[0]}' is not an offered option; choose from: {choices}."


def _in_range(question: Question, value: float) -> str | None:
    unit = f" {question.unit}" if question.unit else ""
    if question.min is not None and value < question.min:
        return f"Must be at least {question.min:g}{unit}."
    if question.max is not None and value > question.max:
        return f"Must be at most {question.max:g}{unit}."
    return None
