"""Alert rules over the recent lookup stats and the breaker state. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from db.analytics import LookupStatsRow


class Severity(Enum):
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


@dataclass(frozen=True, slots=True)
class AlertThresholds:
    slow_lookup_ms: float = 100.0  # average latency above this -> warning
    min_success_rate: float = 0.9  # success rate below this -> critical
    max_fallback_rate: float = 0.2  # fallback rate above this -> warning


@dataclass(frozen=True, slots=True)
class FiredAlert:
    name: str
    severity: Severity
    message: str
    value: float | None
    threshold: float | None


def evaluate_alerts(
    stats: LookupStatsRow, breaker_state: str, thresholds: AlertThresholds, window_minutes: int
) -> list[FiredAlert]:
    """The alerts that fire now. Rate rules need at least one lookup in the window: with no
    traffic there is nothing to be slow or failing."""
    fired: list[FiredAlert] = []
    window = f"over the last {window_minutes} min"
    avg = stats.avg_latency_ms
    if avg is not None and avg > thresholds.slow_lookup_ms:
        fired.append(
            FiredAlert(
                "slow_lookups",
                Severity.WARNING,
                f"Average slug lookup took {avg:.1f} ms {window} "
                f"(threshold {thresholds.slow_lookup_ms:g} ms).",
                avg,
                thresholds.slow_lookup_ms,
            )
        )
    success = stats.success_rate
    if success is not None and success < thresholds.min_success_rate:
        fired.append(
            FiredAlert(
                "low_success_rate",
                Severity.CRITICAL,
                f"Only {success:.1%} of slug lookups succeeded {window} "
                f"(threshold {thresholds.min_success_rate:.0%}).",
                success,
                thresholds.min_success_rate,
            )
        )
    if breaker_state == "open":
        fired.append(
            FiredAlert(
                "breaker_open",
                Severity.WARNING,
                "The lookup circuit breaker is open: lookups are not reaching PostgreSQL.",
                None,
                None,
            )
        )
    fallback = stats.fallback_rate
    if fallback is not None and fallback > thresholds.max_fallback_rate:
        fired.append(
            FiredAlert(
                "high_fallback_rate",
                Severity.WARNING,
                f"{fallback:.1%} of slug lookups fell back to slug-only {window} "
                f"(threshold {thresholds.max_fallback_rate:.0%}).",
                fallback,
                thresholds.max_fallback_rate,
            )
        )
    return fired
