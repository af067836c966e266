"""Literal values lifted into variables (api/plans/literals.py): a query that differs from a
known one only in its literals is answered by the same document, plan and cached answer, and
exactly as it would be as sent, errors and their locations included."""

from __future__ import annotations

import random
from typing import Any

import pytest
from graphql import parse

from api.plans.literals import scan, scan_by_tokens
from tests.support import PLANS_ON, running_app

BASE: dict[str, Any] = {"migrate_on_start": False, "seed_on_start": False}


def literal(slug: str) -> str:
    return f'{{ microService(slug: "{slug}") {{ slug name questions {{ id }} }} }}'


def test_the_signature_is_the_text_without_its_literal_values() -> None:
    one = scan('query Q { a: microService(slug: "x") { id } b: f(n: 12, x: 1.5e3) }')
    two = scan('query Q { a: microService(slug: "why \\"not\\"") { id } b: f(n: -3, x: 2.0e1) }')
    assert one is not None
    assert two is not None
    assert one.signature == two.signature
    assert one.values == ("x", 12, 1500.0)
    assert two.values == ('why "not"', -3, 20.0)
    # Names with digits, comments and block strings are not literals; a number is not a string.
    assert scan('{ a1: f(s: """x""") # 5 "y"\n }') is None
    assert scan('{ f(n: "1") }').signature != scan("{ f(n: 1) }").signature  # type: ignore[union-attr]


VALUES = [
    '"x"', '""', '"a\\"b"', '"\\u00e9"', '"\\\\"', '"1.5"', '"ü 5"', "0", "-0", "12", "-3",
    "1.5", "-1.5e3", "2E-2", "1e5", "0.0", "99999999999999999999999", "RED", "true", "null", "$v",
]  # fmt: skip
NAMES = ["a", "a1", "_9", "x0y", "e5", "E1", "f"]


def _value(rng: random.Random, depth: int = 0) -> str:
    draw = rng.random()
    if depth < 2 and draw < 0.15:
        items = [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
        return "[" + rng.choice([", ", " ", ","]).join(items) + "]"
    if depth < 2 and draw < 0.3:
        fields = [
            f"{rng.choice(NAMES)}: {_value(rng, depth + 1)}" for _ in range(rng.randint(0, 2))
        ]
        return "{" + ", ".join(fields) + "}"
    return rng.choice(VALUES)


def test_the_split_at_literals_finds_what_the_token_by_token_scan_finds() -> None:
    # Strings with escapes JSON can or cannot read, numbers of every form (an integer past 64
    # bits included) and names with digits, in arguments, lists and objects, aliases with
    # digits, and a minus sign right after an enum value.
    rng = random.Random(5)
    documents = ["{ f(a: [RED-1], b: [x-1]) }", '{ f(a: "#", b: 2) }', "{ f(a: 1) } # 2"]
    for _ in range(3000):
        separator = rng.choice([",", " ", ", ", ",\n"])
        arguments = separator.join(
            f"{rng.choice(NAMES)}:{rng.choice(['', ' '])}{_value(rng)}"
            for _ in range(rng.randint(1, 3))
        )
        head = rng.choice(["", "query Q1 ", "query($v: Int) "])
        alias = rng.choice(["", "m1: ", "a0:", "x9 : "])
        documents.append(f"{head}{{ {alias}f2({arguments}) {{ id1 }} }}")
    for document in documents:
        parse(document)  # each a valid document
        assert scan(document) == scan_by_tokens(document), document
    # A string JSON cannot read stays in the text (the parser refuses it in a moment).
    assert scan('{ f(a: "\\x", b: 1) }') == scan_by_tokens('{ f(a: "\\x", b: 1) }')


@pytest.mark.parametrize("plans", [PLANS_ON, dict.fromkeys(PLANS_ON, False)])
async def test_literal_queries_share_one_document_plan_and_answer_as_sent(
    database_url: str, plans: dict[str, Any]
) -> None:
    async with running_app(database_url, **{**BASE, **plans, "response_cache": False}) as api:
        # As sent, twice: the signature's second query teaches its lifted form.
        for slug in ("wall-painting", "woodwork-painting"):
            first = await api.graphql(literal(slug))
            assert first["data"]["microService"]["slug"] == slug
        assert api.http_state.plans.literals.lift(literal("any-slug")) is not None
        before = len(api.http_state.plans._plans)
        for slug in ("ceiling-painting", "wall-painting", "no-such-slug"):
            lifted = await api.graphql(literal(slug))
            async with running_app(database_url, **{**BASE, **plans}) as fresh:
                assert lifted == await fresh.graphql(literal(slug))  # the same answer as sent
        # One lifted document for all of them: no plan (or "no plan" verdict) per value.
        assert len(api.http_state.plans._plans) <= before + 1


def wizard(slug: str, path: str) -> str:
    return (
        f'{{ m: microService(slug: "{slug}") {{ slug }}\n'
        f'  wizardQuestions(categories: ["painting", "interior", "{path}"])'
        " { questions { id } } }"
    )


async def test_an_error_keeps_the_locations_of_the_document_as_sent(database_url: str) -> None:
    async with running_app(database_url, **BASE) as api:
        for slug in ("wall-painting", "ceiling-painting"):  # twice: learned
            learned = await api.graphql(wizard(slug, "wall-painting"))
            assert "errors" not in learned, learned
        # The same signature, an unknown slug: the error, with the locations of the text as
        # sent (the literal before it is longer than its variable), as a fresh app gives it.
        query = wizard("a-much-longer-slug-than-before", "no-such-service")
        body = await api.graphql(query)
        assert body["errors"][0]["locations"] == [{"line": 2, "column": 3}], body
        assert "__l" not in str(body)
    async with running_app(database_url, **BASE) as fresh:
        assert body == await fresh.graphql(query)


async def test_a_mutation_of_no_known_signature_is_not_lifted(database_url: str) -> None:
    async with running_app(database_url, **BASE) as api:
        lifted = api.http_state.plans.literals
        assert lifted.lift('mutation { f(x: "1") }') is None
