"""observe_many records what the same number of observe calls would."""

import pytest
from prometheus_client import CollectorRegistry, Histogram

from monitoring.metrics import observe_many


def _samples(histogram: Histogram) -> dict[tuple[str, str], float]:
    return {
        (s.name, s.labels.get("le", "")): s.value
        for family in histogram.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    }


@pytest.mark.parametrize(("value", "count"), [(0.0004, 20), (0.07, 3), (99.0, 5), (0.01, 1)])
def test_observe_many_equals_repeated_observe(value: float, count: int) -> None:
    one = Histogram("one", "x", registry=CollectorRegistry())
    many = Histogram("many", "x", registry=CollectorRegistry())
    for _ in range(count):
        one.observe(value)
    observe_many(many, value, count)
    renamed = {(name.replace("many", "one"), le): v for (name, le), v in _samples(many).items()}
    # The sum is value x count in one step: equal up to float rounding of repeated additions.
    assert renamed == pytest.approx(_samples(one))
