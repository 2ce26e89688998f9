"""Service levels in the model: what an event's traffic looks like (volume) and what a consumer promises (SLO).

Alarm thresholds, dashboards' SLO lines and the cost estimate are derived from these values, never from constants.
Kept apart from :mod:`eventform.catalog.model` (which re-exports nothing from here) so that module stays small.
"""

from __future__ import annotations

from dataclasses import dataclass

DAY_SECONDS = 86_400
MAX_EVENT_BYTES = 262_144  # what SNS and EventBridge accept per message (256 KB)


@dataclass(frozen=True)
class Volume:
    """The traffic an event's producers expect: how many per day, the peak per second, and a typical size."""

    per_day: int
    peak_per_second: float
    size: int  # bytes of one published envelope, typically

    @property
    def average_per_second(self) -> float:
        return self.per_day / DAY_SECONDS


@dataclass(frozen=True)
class ServiceLevel:
    """What a consumer promises in one environment, resolved: events handled within ``max_lag`` seconds of being
    published, and at most ``max_error_rate`` (a fraction, 0.01 = 1%) of invocations failing."""

    max_lag: int = 900
    max_error_rate: float = 0.01

    @property
    def max_error_percent(self) -> float:
        return round(self.max_error_rate * 100, 6)


@dataclass(frozen=True)
class ServiceLevelSpec:
    """A consumer's own ``slo:`` (or one environment's override): what it does not set comes from the environment."""

    max_lag: int | None = None
    max_error_rate: float | None = None

    def over(self, base: ServiceLevel) -> ServiceLevel:
        return ServiceLevel(
            max_lag=base.max_lag if self.max_lag is None else self.max_lag,
            max_error_rate=base.max_error_rate if self.max_error_rate is None else self.max_error_rate,
        )
