"""myJobs is priced by the page it may return, in the same budget as lookups."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse

from schema.limits import request_cost


@pytest.mark.parametrize(
    ("document", "variables", "cost"),
    [
        ("{ myJobs { totalCount } }", {}, 1),
        ("{ myJobs(first: 100) { totalCount } }", {}, 5),
        ("query($f: Int) { myJobs(first: $f) { totalCount } }", {"f": 41}, 3),
        ("{ a: myJobs(first: 5000) { totalCount } b: myJobs(first: 1) { totalCount } }", {}, 6),
    ],
)
def test_a_page_costs_one_per_twenty_jobs(
    document: str, variables: dict[str, Any], cost: int
) -> None:
    assert request_cost(parse(document), variables, None) == cost
