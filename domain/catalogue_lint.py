"""Content rules for the catalogue, beyond what the loader needs to serve it.

The loader refuses a file the wizard cannot run; this lint refuses one a homeowner cannot answer
or a tradesperson cannot quote from: fragment labels, one id meaning two things (its type, its
options or an option's wording differ), an "other" with nowhere to say what, a required choice
with no way out, an unbounded number, a service with no description. It runs in the test suite
over `db/catalogue.json`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from domain.catalogue import NOT_SURE, Catalogue, MicroServiceSpec, Question, QuestionKind

OTHER = "other"
# A label is a whole question (starting with one of these) or an instruction (starting with an
# imperative verb below); "Cables?" or "Why?" is neither.
_QUESTION_WORDS = """what what's which how is are do does did has have can could would should will
when where who whose why roughly approximately about in on"""
_IMPERATIVE_VERBS = "describe list tell give enter choose select add name explain write pick upload"
QUESTION_WORDS = frozenset(_QUESTION_WORDS.split())
IMPERATIVE_VERBS = frozenset(_IMPERATIVE_VERBS.split())
MIN_LABEL_WORDS = 3


@dataclass(frozen=True, slots=True)
class Finding:
    where: str  # "micro service 'slug', question 'id'" or similar
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: [{self.rule}] {self.message}"


def lint_catalogue(catalogue: Catalogue) -> list[Finding]:
    """Every content fault in the catalogue, in file order; an empty list means clean."""
    findings: list[Finding] = []
    first_seen: dict[str, tuple[str, Question]] = {}
    for spec in catalogue.all_micro_services():
        where_m = f"micro service {spec.slug!r}"
        if not spec.description.strip():
            findings.append(Finding(where_m, "description", "has no description"))
        for question in spec.questions:
            where = f"{where_m}, question {question.id!r}"
            findings.extend(_question_findings(spec, question, where))
            seen = first_seen.setdefault(question.id, (spec.slug, question))
            if _shape(seen[1]) != _shape(question):
                findings.append(
                    Finding(
                        where,
                        "one-id-one-meaning",
                        f"differs in type, options or option labels from {question.id!r} in "
                        f"micro service {seen[0]!r}",
                    )
                )
    return findings


def _question_findings(spec: MicroServiceSpec, question: Question, where: str) -> Iterable[Finding]:
    label_fault = label_problem(question.label)
    if label_fault:
        yield Finding(where, "label", f"{question.label!r} {label_fault}")
    if question.kind.is_select and OTHER in question.option_values:
        follow_up = spec.question(f"{question.id}_other")
        if not _is_other_follow_up(follow_up, question.id):
            yield Finding(
                where,
                "other-follow-up",
                f"offers 'other' but has no text question '{question.id}_other' shown only "
                "when 'other' is chosen",
            )
    if (
        question.kind is QuestionKind.SINGLE_SELECT
        and question.required
        and not question.exhaustive
        and not question.allow_not_sure
        and not {NOT_SURE, OTHER} & question.option_values
    ):
        yield Finding(
            where,
            "way-out",
            "a required choice without 'not sure' or 'other' (mark it exhaustive if the "
            "options cover every case)",
        )
    if question.kind is QuestionKind.NUMBER and (
        question.unit is None or question.min is None or question.max is None
    ):
        yield Finding(where, "number-bounds", "a number needs a unit, a min and a max")


def label_problem(label: str) -> str | None:
    """Why `label` is not a whole question or instruction, or None when it is."""
    words = label.split()
    if len(words) < MIN_LABEL_WORDS:
        return f"is a fragment (fewer than {MIN_LABEL_WORDS} words)"
    first = words[0].lower().strip(",")
    if label.rstrip().endswith("?"):
        if first not in QUESTION_WORDS:
            return "does not start like a question (What, Which, How, Is, Do ...)"
        return None
    if first in IMPERATIVE_VERBS:
        return None
    return "is neither a question ending in '?' nor an instruction (Describe, List ...)"


def _is_other_follow_up(follow_up: Question | None, question_id: str) -> bool:
    return (
        follow_up is not None
        and follow_up.kind is QuestionKind.TEXT
        and len(follow_up.show_if) == 1
        and follow_up.show_if[0].question_id == question_id
        and follow_up.show_if[0].values == (OTHER,)
    )


def _shape(question: Question) -> tuple[QuestionKind, tuple[tuple[str, str], ...]]:
    # Labels count too: one value worded two ways reads as two different answers.
    return question.kind, tuple(sorted((o.value, o.label) for o in question.options))
