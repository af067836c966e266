"""Alert rules over the recent lookup stats and the breaker state. Pure: no I/O.

Every rule gives a verdict each evaluation, firing or not, with the value and threshold that
decided it: the alert history stores the changes between verdicts (`AlertEvaluation`), and
`evaluate_alerts` keeps the ones that fire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from config import Settings
from db.analytics import AlertEvaluation, LookupStatsRow


class Severity(Enum):
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


# Every alert a rule can raise, with its severity: the names the history, acknowledgements and
# silences refer to.
ALERT_SEVERITIES: dict[str, Severity] = {
    "slow_lookups": Severity.WARNING,
    "low_success_rate": Severity.CRITICAL,
    "breaker_open": Severity.WARNING,
    "high_fallback_rate": Severity.WARNING,
}


@dataclass(frozen=True, slots=True)
class AlertThresholds:
    slow_lookup_ms: float = 100.0  # average latency above this -> warning
    min_success_rate: float = 0.9  # success rate below this -> critical
    max_fallback_rate: float = 0.2  # fallback rate above this -> warning


def alert_thresholds(settings: Settings) -> AlertThresholds:
    return AlertThresholds(
        slow_lookup_ms=settings.alert_slow_lookup_ms,
        min_success_rate=settings.alert_min_success_rate,
        max_fallback_rate=settings.alert_max_fallback_rate,
    )


@dataclass(frozen=True, slots=True)
class FiredAlert:
    name: str
    severity: Severity
    message: str
    value: float | None
    threshold: float | None
    # From the alert history, where it is known: since when it fires, and what operators did.
    since: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledgement_note: str | None = None
    silenced_until: datetime | None = None


def evaluate_rules(
    stats: LookupStatsRow, breaker_state: str, thresholds: AlertThresholds, window_minutes: int
) -> list[AlertEvaluation]:
    """Every rule's verdict now, in ALERT_SEVERITIES order. Rate rules need at least one lookup
    in the window: with no traffic there is nothing to be slow or failing."""
    window = f"over the last {window_minutes} min"
    quiet = f"No slug lookup {window}."
    avg = stats.avg_latency_ms
    success = stats.success_rate
    fallback = stats.fallback_rate
    breaker_open = breaker_state == "open"

    def verdict(
        name: str, firing: bool, message: str, value: float | None, threshold: float | None
    ) -> AlertEvaluation:
        return AlertEvaluation(
            name, firing, ALERT_SEVERITIES[name].value, message, value, threshold
        )

    return [
        verdict(
            "slow_lookups",
            avg is not None and avg > thresholds.slow_lookup_ms,
            quiet
            if avg is None
            else f"Average slug lookup took {avg:.1f} ms {window} "
            f"(threshold {thresholds.slow_lookup_ms:g} ms).",
            avg,
            thresholds.slow_lookup_ms,
        ),
        verdict(
            "low_success_rate",
            success is not None and success < thresholds.min_success_rate,
            quiet
            if success is None
            else f"Only {success:.1%} of slug lookups succeeded {window} "
            f"(threshold {thresholds.min_success_rate:.0%})."
            if success < thresholds.min_success_rate
            else f"{success:.1%} of slug lookups succeeded {window} "
            f"(threshold {thresholds.min_success_rate:.0%}).",
            success,
            thresholds.min_success_rate,
        ),
        verdict(
            "breaker_open",
            breaker_open,
            "The lookup circuit breaker is open: lookups are not reaching PostgreSQL."
            if breaker_open
            else f"The lookup circuit breaker is {breaker_state}.",
            None,
            None,
        ),
        verdict(
            "high_fallback_rate",
            fallback is not None and fallback > thresholds.max_fallback_rate,
            quiet
            if fallback is None
            else f"{fallback:.1%} of slug lookups fell back to slug-only {window} "
            f"(threshold {thresholds.max_fallback_rate:.0%}).",
            fallback,
            thresholds.max_fallback_rate,
        ),
    ]


def evaluate_alerts(
    stats: LookupStatsRow, breaker_state: str, thresholds: AlertThresholds, window_minutes: int
) -> list[FiredAlert]:
    """The alerts that fire now."""
    return [
        FiredAlert(e.name, Severity(e.severity), e.message, e.value, e.threshold)
        for e in evaluate_rules(stats, breaker_state, thresholds, window_minutes)
        if e.firing
    ]
