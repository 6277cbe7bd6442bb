"""The quality-aware contribution rule: first-order leave-one-out value under secure aggregation.

Exact leave-one-out needs the aggregate without member ``i``. Under SecAgg+ that is off limits:
whoever sees both ``S`` and ``S - w_i u_i`` has member ``i``'s update by subtraction. The kit
therefore uses the first-order (influence) form of leave-one-out, which needs only

- ``g``: the gradient of the consortium's validation loss (the mean over every member's
  validation rows) at the round's starting model, released with DP noise by every member and
  summed under SecAgg+ (:mod:`consortium.privacy.gradient_release`);
- ``p_i = g · u_i``: one number per member, which member ``i`` computes from its own update;
- ``a = g · Δ``: what the coordinator computes from the aggregate ``Δ = Σ w_i u_i / W``.

With ``θ_-i`` the model the round would have produced without member ``i``,
``θ_-i - θ = w_i (Δ - u_i) / (W - w_i)``, so to first order the validation loss it would have
lost is

    gain_i = L(θ_-i) - L(θ) ≈ g · (θ_-i - θ) = w_i (a - p_i) / (W - w_i)

(``-a`` when ``i`` is the only member). The coordinator learns one scalar per member per round
and nothing else about an update, and it can *check* the scalars: ``Σ w_i p_i = W a`` up to the
quantisation of the secure sum (:func:`consistency_tolerance`). A member that misreports its
``p_i`` breaks the identity and the round's scores are refused (no points minted for it); only
a coalition that shifts value between its members while keeping the weighted sum escapes the
check. Everything here is pure arithmetic on numbers the ledger records.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "QUALITY_SCALE",
    "Valuation",
    "consistency_tolerance",
    "first_order_loo",
    "quality_scores",
    "value_round",
]

QUALITY_SCALE = 1_000_000
"""Integer quality scores are parts per million of the round's positive gains."""


@dataclass(frozen=True)
class Valuation:
    """One round's leave-one-out values.

    Attributes
    ----------
    status : str
        ``ok``; ``inconsistent`` (the reported projections do not add up to the aggregate's);
        ``unverifiable`` (a member in the aggregate did not report, so the sum cannot be
        checked); ``no-gradient`` (no member could release a validation gradient).
    gains : dict of str to float
        First-order leave-one-out gain per member (validation-loss units; empty unless ``ok``).
    quality : dict of str to int
        Integer scores, parts per million of the positive gains (empty unless ``ok``).
    gap, tolerance : float
        ``|Σ w_i p_i / W - a|`` and what quantisation allows.
    """

    status: str
    gains: dict[str, float]
    quality: dict[str, int]
    gap: float = 0.0
    tolerance: float = 0.0


def first_order_loo(
    projections: Mapping[str, float], weights: Mapping[str, float], aggregate: float
) -> dict[str, float]:
    """Return ``gain_i = w_i (a - p_i) / (W - w_i)`` per member (``-a`` for a sole member).

    Members with weight 0 (they sat out) gain 0.

    Examples
    --------
    >>> first_order_loo({"a": -2.0, "b": 0.0}, {"a": 1.0, "b": 1.0}, aggregate=-1.0)
    {'a': 1.0, 'b': -1.0}
    """
    total = sum(weights.values())
    gains: dict[str, float] = {}
    for member in sorted(weights):
        w = weights[member]
        if w <= 0:
            gains[member] = 0.0
        elif total - w <= 0:
            gains[member] = -aggregate
        else:
            gains[member] = w * (aggregate - projections[member]) / (total - w)
    return gains


def quality_scores(gains: Mapping[str, float]) -> dict[str, int]:
    """Return integer scores: parts per million of the sum of positive gains (floor).

    Examples
    --------
    >>> quality_scores({"a": 3.0, "b": 1.0, "c": -2.0})
    {'a': 750000, 'b': 250000, 'c': 0}
    """
    positive = {m: g for m, g in gains.items() if math.isfinite(g) and g > 0}
    total = sum(positive.values())
    return {
        m: int(QUALITY_SCALE * positive[m] / total) if m in positive else 0 for m in sorted(gains)
    }


def consistency_tolerance(
    gradient: Sequence[NDArray[np.floating]],
    delta: Sequence[NDArray[np.floating]],
    *,
    members: int,
    quantum: float,
    weight_sum: float,
    failure_probability: float = 1e-9,
) -> float:
    """Return how far ``Σ w_i p_i / W`` may honestly differ from ``g · Δ``.

    Under SecAgg+ every member's weighted vector is rounded, coordinate by coordinate, to a
    multiple of ``quantum`` (``2R / Q``) by Flower's *stochastic* rounding, which is unbiased
    and independent; the sum is then divided by the total SecAgg+ weight ``weight_sum``. The
    error of ``g · Δ`` is therefore a sum of independent zero-mean terms, each within a range
    of ``|g_k| quantum / weight_sum``, and Hoeffding's inequality bounds it by

        quantum ||g||_2 sqrt(members ln(2 / failure_probability) / 2) / weight_sum

    except with probability ``failure_probability`` (an honest round is then wrongly refused).
    On the plain path ``quantum`` is 0. A relative ``1e-9`` of ``Σ |g_k Δ_k|`` covers float64
    summation order.
    """
    g2 = math.sqrt(float(sum(np.square(np.asarray(g, dtype=np.float64)).sum() for g in gradient)))
    slack = 1e-9 * float(
        sum(
            np.abs(np.asarray(g, dtype=np.float64) * np.asarray(d, dtype=np.float64)).sum()
            for g, d in zip(gradient, delta, strict=True)
        )
    )
    if quantum == 0:
        return slack
    if weight_sum <= 0:
        return math.inf
    spread = math.sqrt(members * math.log(2.0 / failure_probability) / 2.0)
    return quantum * g2 * spread / weight_sum + slack


def value_round(
    *,
    projections: Mapping[str, float],
    weights: Mapping[str, float],
    aggregate: float,
    tolerance: float,
    gradient_available: bool = True,
) -> Valuation:
    """Check the reported projections against the aggregate and value every member.

    ``weights`` holds every member inside the aggregate (its ``num_examples``), ``projections``
    what they reported; a member in ``weights`` without a projection makes the round
    ``unverifiable``.
    """
    if not gradient_available:
        return Valuation("no-gradient", {}, {})
    if any(m not in projections for m in weights):
        return Valuation("unverifiable", {}, {})
    if any(not math.isfinite(projections[m]) for m in weights):
        return Valuation("inconsistent", {}, {}, math.inf, tolerance)
    total = sum(weights.values())
    reported = sum(weights[m] * projections[m] for m in weights) / total if total > 0 else 0.0
    gap = abs(reported - aggregate)
    if gap > tolerance:
        return Valuation("inconsistent", {}, {}, gap, tolerance)
    gains = first_order_loo(projections, weights, aggregate)
    return Valuation("ok", gains, quality_scores(gains), gap, tolerance)
