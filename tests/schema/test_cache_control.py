"""Cache hints on the schema: an operation is cacheable only when every field it selects is."""

import pytest
from graphql import parse

from schema import schema
from schema.cache_control import CATALOGUE_MAX_AGE, operation_policy


def _max_age(query: str, operation_name: str | None = None) -> int:
    return operation_policy(schema._schema, parse(query), operation_name).max_age


@pytest.mark.parametrize(
    "query",
    [
        "{ categories { slug name subcategories { slug microServices { id slug name "
        "questions { id label type options { value label } } } } } }",
        "query W($p: [String!]!) { wizardQuestions(categories: $p) { microId microUuid "
        "questions { id } } }",
        "query T { categories { ...C } } fragment C on Category { slug __typename }",
        "{ categories { ... on Category { slug } } }",
    ],
)
def test_catalogue_operations_are_cacheable(query: str) -> None:
    assert _max_age(query) == CATALOGUE_MAX_AGE


@pytest.mark.parametrize(
    "query",
    [
        # A private type (jobs) beside a public one spoils the whole operation.
        '{ categories { slug } job(id: "00000000-0000-0000-0000-000000000000") { id } }',
        # Lookups stay uncached whole: every one is recorded as a lookup event.
        '{ microService(slug: "wall-painting") { id } }',
        '{ microServices(slugs: ["wall-painting"]) { id } }',
        # Monitoring has no hint at all.
        "{ alerts { name } }",
        "{ lookupStats { total } }",
        # Introspection, a bare __typename, mutations.
        "{ __schema { types { name } } }",
        "{ __typename }",
        'mutation { publishJob(input: {microId: "x", answers: {}}) { degraded } }',
    ],
)
def test_private_unhinted_and_mutating_operations_are_not(query: str) -> None:
    assert _max_age(query) == 0


def test_the_named_operation_decides() -> None:
    document = "query A { categories { slug } } query B { alerts { name } }"
    assert _max_age(document, "A") == CATALOGUE_MAX_AGE
    assert _max_age(document, "B") == 0
    assert _max_age(document, None) == 0  # ambiguous: never cached
    assert _max_age(document, "C") == 0
