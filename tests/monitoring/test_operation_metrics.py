"""Operation durations under bounded labels: a known name keeps its child, "other" stands for
the unbounded rest."""

from prometheus_client import REGISTRY

from monitoring.graphql import _known_operations, observe_operation
from monitoring.metrics import sanitize_operation


def _count(operation: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "jobwizard_graphql_request_duration_seconds_count",
        {"operation": operation, "outcome": outcome},
    )
    return value or 0.0


def test_each_observation_lands_under_its_name_and_outcome() -> None:
    # The label the process gives the name (the name itself, unless the process has met its
    # bound of distinct names already in this test session).
    label = sanitize_operation("OperationMetricsProbe", _known_operations)
    before_ok = _count(label, "success")
    before_error = _count(label, "error")
    for _ in range(3):
        observe_operation("OperationMetricsProbe", 0.001, failed=False)
    observe_operation("OperationMetricsProbe", 0.001, failed=True)
    assert _count(label, "success") == before_ok + 3
    assert _count(label, "error") == before_error + 1


def test_names_past_the_bound_are_counted_as_other_every_time() -> None:
    long_name = "N" * 65  # longer than any name kept as a label of its own
    before = _count("other", "success")
    observe_operation(long_name, 0.001, failed=False)
    observe_operation(long_name + "x", 0.001, failed=False)
    assert _count("other", "success") == before + 2
    assert _count(long_name, "success") == 0.0


def test_an_unnamed_operation_is_anonymous() -> None:
    before = _count("anonymous", "success")
    observe_operation(None, 0.001, failed=False)
    observe_operation("", 0.001, failed=False)
    assert _count("anonymous", "success") == before + 2
