"""The value of joining for one member, said in one plain sentence with its units.

Pure function over one row of :func:`consortium.evaluation.value.value_table`: the member's
own model against its best local-only model on the main metric (lower is better), with the
pooled model for reference.

Examples
--------
>>> import textwrap
>>> row = {"lightgbm": 20.0, "pooled": 25.0, "own": 17.6, "best_local_only": "lightgbm",
...        "gain_percent": 12.0, "chosen": "pooled+fine-tune"}
>>> print(textwrap.fill(joining_verdict(row, metric="MAE", unit="min"), 90))
joining improved your MAE by 12 %: 17.6 min with your own model (pooled+fine-tune) against
20.0 min with your best local-only model (lightgbm); the pooled model alone: 25.0 min
>>> row = {"lightgbm": 20.0, "pooled": 25.0, "own": 20.0, "best_local_only": "lightgbm",
...        "gain_percent": 0.0, "chosen": "lightgbm"}
>>> print(joining_verdict(row, metric="MAE", unit="min"))
your own local model stays best: MAE 20.0 min (lightgbm); the pooled model: 25.0 min
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["MIN_GAIN_PERCENT", "joining_verdict"]

MIN_GAIN_PERCENT = 0.5
"""A gain below this (in percent) is reported as no gain: the local model stays best."""


def _value(row: Mapping[str, object], name: str) -> float:
    raw = row.get(name)
    return float(raw) if isinstance(raw, int | float) else math.nan


def _fmt(value: float, unit: str) -> str:
    if not math.isfinite(value):
        return "–"
    number = f"{value:.1f}" if abs(value) >= 1 else f"{value:.3f}"
    return f"{number} {unit}".rstrip()


def joining_verdict(row: Mapping[str, object], *, metric: str, unit: str = "") -> str:
    """Return the member's verdict: did joining improve its main metric, and by how much.

    Parameters
    ----------
    row
        One member's row of the value table: a column per model (the metric, lower is
        better), ``best_local_only``, ``gain_percent`` and ``chosen``.
    metric
        The metric's name for people (``"MAE"``, ``"Brier score"``).
    unit
        Its unit (``"min"``); empty for a unitless score.
    """
    best = str(row.get("best_local_only", ""))
    gain = _value(row, "gain_percent")
    own, local, pooled = _value(row, "own"), _value(row, best), _value(row, "pooled")
    pooled_text = _fmt(pooled, unit)
    if math.isfinite(gain) and gain >= MIN_GAIN_PERCENT:
        return (
            f"joining improved your {metric} by {gain:.0f} %: {_fmt(own, unit)} with your own "
            f"model ({row.get('chosen') or 'own'}) against {_fmt(local, unit)} with your best "
            f"local-only model ({best}); the pooled model alone: {pooled_text}"
        )
    return (
        f"your own local model stays best: {metric} {_fmt(local, unit)} ({best}); "
        f"the pooled model: {pooled_text}"
    )
