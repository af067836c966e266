"""Validation of a job's answers against its micro service's questions.

Every fault is collected, not just the first, so that a wizard can mark all the bad fields at
once and a partner can fix its payload in one round trip.

The questions' `show_if` conditions are followed: a question is asked only when each condition's
earlier answer is one of its values, so a hidden question must not be answered and, even when
required, need not be. Conditions only ever name earlier questions (the loader sees to it), so
one pass in question order decides every question's visibility.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from domain.catalogue import (
    FALSE,
    NOT_SURE,
    TRUE,
    MicroServiceSpec,
    Question,
    QuestionKind,
    global_id,
)
from domain.errors import MAX_FIELD_ERRORS, BadUserInputError

REQUIRED = "This question is required."
# Dates a job can sensibly carry: a start date, a key handover, a property's build year's day.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_FORMAT = "Expected a date as YYYY-MM-DD."
_UNKNOWN = (
    "Unknown question id for micro service '{slug}' "
    "(not asked, or no longer asked, for this service)."
)
# Question ids are short slugs; an unknown key is echoed no longer than this.
MAX_ECHOED_KEY = 64


def validate_answers(spec: MicroServiceSpec, answers: Any) -> dict[str, Any]:
    """Return the answers to store, keyed by question key (nulls for optional questions
    dropped), or raise `BadUserInputError` whose `fields` maps each faulty question's key to a
    message."""
    if not isinstance(answers, Mapping):
        raise BadUserInputError("'answers' must be a JSON object of question id -> answer.")
    faults: dict[str, str] = {}
    clean: dict[str, Any] = {}
    known = {question.id for question in spec.questions}
    answers = _by_key(spec, answers, known, faults)
    unknown = [key for key in answers if key not in known]
    # The answer each question's condition sees: None when unanswered, hidden or faulty.
    effective: dict[str, Any] = {}
    # Questions whose visibility cannot be decided because an answer it depends on is faulty.
    undecided: set[str] = set()
    for question in spec.questions:
        value = answers.get(question.id)
        visible, why_hidden = _visibility(question, effective, undecided, faults)
        if visible is None:
            undecided.add(question.id)
        elif not visible:
            if value is not None:
                faults[question.id] = why_hidden
            continue
        if value is None:
            if question.required and visible:
                faults[question.id] = REQUIRED
            continue
        checked = _check(question, value)
        if isinstance(checked, _Fault):
            faults[question.id] = checked.message
            undecided.add(question.id)
        else:
            clean[question.id] = checked
            if visible:
                effective[question.id] = checked
    if faults or unknown:
        # The questions' own faults first: they are what a wizard marks; a flood of unknown
        # keys must not push them out of the listed few.
        for key in unknown:
            faults.setdefault(_echo(key), _UNKNOWN.format(slug=spec.slug))
        count = len(faults)
        listed = "" if count <= MAX_FIELD_ERRORS else f" (the first {MAX_FIELD_ERRORS} are listed)"
        raise BadUserInputError(
            f"{count} answer(s) for '{spec.slug}' are not valid{listed}.", fields=faults
        )
    return clean


def _by_key(
    spec: MicroServiceSpec, answers: Mapping[str, Any], known: set[str], faults: dict[str, str]
) -> Mapping[str, Any]:
    """The answers keyed by question key: a question's global id (`wall-painting/wall_count`)
    is accepted in place of its key, and stored as the key, so that one job never holds both
    forms. A question answered under both is a fault named by its key."""
    prefix = global_id(spec.slug, "")
    if not any(isinstance(key, str) and key.startswith(prefix) for key in answers):
        return answers
    keyed: dict[str, Any] = {}
    for key, value in answers.items():
        if isinstance(key, str) and key.startswith(prefix) and key[len(prefix) :] in known:
            key = key[len(prefix) :]
            if key in answers:
                faults[key] = f"Answered twice: as '{key}' and as '{prefix}{key}'."
        keyed[key] = value
    return keyed


def _echo(key: object) -> str:
    """An unknown answer key as the error names it: cut short, since it may be of any length."""
    text = str(key)
    return text if len(text) <= MAX_ECHOED_KEY else text[: MAX_ECHOED_KEY - 1] + "\u2026"


def _visibility(
    question: Question,
    effective: Mapping[str, Any],
    undecided: set[str],
    faults: Mapping[str, str],
) -> tuple[bool | None, str]:
    """(True, "") when shown, (False, why) when hidden, (None, "") when it cannot be told."""
    for condition in question.show_if:
        if condition.question_id in undecided or condition.question_id in faults:
            return None, ""
        answer = effective.get(condition.question_id)
        if not _as_condition_values(answer) & set(condition.values):
            if answer is None:
                return False, f"Not asked when {condition.question_id} is not answered."
            shown = ", ".join(sorted(_as_condition_values(answer)))
            return False, f"Not asked when {condition.question_id} is {shown}."
    return True, ""


def _as_condition_values(answer: Any) -> set[str]:
    """An answer as the strings a condition lists: a multi-select matches on any option."""
    if answer is None:
        return set()
    if isinstance(answer, bool):
        return {TRUE if answer else FALSE}
    if isinstance(answer, list):
        return {str(item) for item in answer}
    return {str(answer)}


class _Fault:
    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


def _check(question: Question, value: Any) -> Any:
    """The value to store, or a `_Fault` saying what is wrong with it."""
    if value == NOT_SURE and question.allow_not_sure:
        return value
    match question.kind:
        case QuestionKind.SINGLE_SELECT:
            if not isinstance(value, str):
                return _Fault("Expected one option value (a string).")
            return _offered(question, [value]) or value
        case QuestionKind.MULTI_SELECT:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return _Fault("Expected a list of option values.")
            if question.required and not value:
                return _Fault(REQUIRED)
            if len(set(value)) != len(value):
                return _Fault("An option is chosen more than once.")
            return _offered(question, value) or value
        case QuestionKind.NUMBER:
            return _number(question, value)
        case QuestionKind.TEXT:
            if not isinstance(value, str):
                return _Fault("Expected text.")
            if not _storable(value):
                return _Fault("Text must not contain NUL characters or unpaired surrogates.")
            if question.required and not value.strip():
                return _Fault(REQUIRED)
            if question.max is not None and len(value) > question.max:
                return _Fault(f"Must be at most {question.max:g} characters.")
            return value
        case QuestionKind.BOOLEAN:
            return value if isinstance(value, bool) else _Fault("Expected true or false.")
        case QuestionKind.DATE:
            return _date(value)


def _storable(text: str) -> bool:
    """PostgreSQL's jsonb holds neither NUL nor an unpaired UTF-16 surrogate; refusing them
    here makes such an answer a field error rather than a failed insert."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _number(question: Question, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _Fault(_not_sure_hint(question, "Expected a number."))
    # An int is compared exactly: float() of a 400-digit integer would overflow.
    if isinstance(value, float):
        if not math.isfinite(value):
            return _Fault("Expected a finite number.")
        if question.integer:
            if not value.is_integer():
                return _Fault("Expected a whole number.")
            value = int(value)
    fault = _in_range(question, value)
    return fault or value


def _date(value: Any) -> Any:
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return _Fault(_DATE_FORMAT)
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return _Fault(_DATE_FORMAT)
    if not EARLIEST_DATE <= parsed <= LATEST_DATE:
        return _Fault(f"Must be between {EARLIEST_DATE} and {LATEST_DATE}.")
    return value


def _not_sure_hint(question: Question, message: str) -> str:
    return f'{message[:-1]}, or "{NOT_SURE}".' if question.allow_not_sure else message


def _offered(question: Question, values: list[str]) -> _Fault | None:
    offered = question.option_values
    bad = [v for v in values if v not in offered]
    if not bad:
        return None
    choices = ", ".join(option.value for option in question.options)
    if question.allow_not_sure and NOT_SURE not in offered:
        choices += f" (or {NOT_SURE})"
    return _Fault(f"'{bad[0]}' is not an offered option; choose from: {choices}.")


def _in_range(question: Question, value: int | float) -> _Fault | None:
    unit = f" {question.unit}" if question.unit else ""
    if question.min is not None and value < question.min:
        return _Fault(f"Must be at least {question.min:g}{unit}.")
    if question.max is not None and value > question.max:
        return _Fault(f"Must be at most {question.max:g}{unit}.")
    return None
