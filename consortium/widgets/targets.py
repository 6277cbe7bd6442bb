"""Results that miss their target, flagged in words: a warning line each, never silence.

Pure functions (no UI framework). A metric is flagged when it is far from what the model
promises: interval coverage far from its target level (80 % by default), or an AUC near 0.5
(the ranking is no better than a coin).

Examples
--------
>>> for line in target_warnings({"mae": 41.0, "coverage": 0.13, "on_time_auc": 0.48}):
...     print(line[:32])
⚠ coverage 13 % of true values f
⚠ on-time AUC 0.48, near 0.5 (no
>>> target_warnings({"coverage": 0.79, "stockout_auc": 0.81})
[]
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["AUC_FLOOR", "COVERAGE_TOLERANCE", "TARGET_COVERAGE", "flagged_lines", "target_warnings"]

TARGET_COVERAGE = 0.8
"""The interval level the forecasts promise (the model card's ``interval_level`` by default)."""
COVERAGE_TOLERANCE = 0.1
"""How far measured coverage may stray from its target before it is flagged (absolute)."""
AUC_FLOOR = 0.6
"""An AUC below this is flagged as near 0.5 (a coin toss)."""

_COIN_FLOOR = 0.4
"""Below this an AUC is not near 0.5 but worse than a coin (the ranking is inverted)."""
_AUC_WHAT = {
    "on_time_auc": ("on-time AUC", "ranking on-time legs"),
    "stockout_auc": ("stock-out AUC", "ranking stock-outs"),
    "overflow_auc": ("overflow AUC", "ranking overflows"),
}


def _coverage_line(coverage: float, target: float) -> str:
    side = "too narrow" if coverage < target else "too wide"
    return (
        f"coverage {coverage:.0%} of true values fall inside the intervals, target {target:.0%} "
        f"({side}: do not rely on these intervals)"
    ).replace("%", " %")


def target_warnings(
    metrics: Mapping[str, float | None],
    *,
    member: str | None = None,
    target_coverage: float = TARGET_COVERAGE,
    coverage_tolerance: float = COVERAGE_TOLERANCE,
    auc_floor: float = AUC_FLOOR,
) -> list[str]:
    """Return one warning line per metric that misses its target (empty when all are fine).

    Parameters
    ----------
    metrics
        Metric name to value (``coverage`` as a fraction; ``*_auc`` as an AUC). Other metrics,
        ``None`` and NaN are ignored.
    member
        Named at the start of each line when given.
    target_coverage, coverage_tolerance
        Coverage is flagged when ``|coverage - target_coverage| > coverage_tolerance``.
    auc_floor
        An AUC under it is flagged.
    """
    lines: list[str] = []
    for name, raw in metrics.items():
        if raw is None or not math.isfinite(float(raw)):
            continue
        value = float(raw)
        if name == "coverage" and abs(value - target_coverage) > coverage_tolerance:
            lines.append(_coverage_line(value, target_coverage))
        elif name in _AUC_WHAT and value < auc_floor:
            label, task = _AUC_WHAT[name]
            how = "near 0.5 (no better than" if value >= _COIN_FLOOR else "below 0.5 (worse than"
            lines.append(f"{label} {value:.2f}, {how} a coin toss at {task})")
    prefix = f"⚠ {member}: " if member else "⚠ "
    return [prefix + line for line in lines]


def flagged_lines(
    per_member: Mapping[str, Mapping[str, float | None]],
    *,
    target_coverage: float = TARGET_COVERAGE,
) -> list[str]:
    """Return the warning lines of every member's metrics (a card's ``metrics_per_member``).

    Examples
    --------
    >>> [line[:39] for line in flagged_lines({"a": {"coverage": 0.8}, "b": {"coverage": 0.5}})]
    ['⚠ b: coverage 50 % of true values fall ']
    """
    lines: list[str] = []
    for member, metrics in per_member.items():
        lines += target_warnings(metrics, member=member, target_coverage=target_coverage)
    return lines
