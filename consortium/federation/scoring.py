"""Coordinator side of the leave-one-out contribution rule (:mod:`consortium.points.valuation`).

A scored round sends one extra zero slot per weight array; every member fills it with its DP
validation gradient sum ``G_j`` (scaled into the SecAgg+ range and divided by its own weight
ratio), so the same SecAgg+ sum that averages the updates also yields ``Σ G_j``, and with the
members' validation row counts ``g = Σ G_j / Σ n_j``: the gradient of the mean loss over every
validation row of the consortium. After the round the coordinator sends the averaged
gradient ``g`` to the members of the aggregate (an evaluate message with ``task = score``), each
answers ``p_i = g · u_i`` for its own update, and :func:`score_round` checks the answers against
``g · Δ`` and turns them into leave-one-out values. The coordinator never holds an update.

Weights are those SecAgg+ really used: ``q_i = round(n_i / max_weight * Q)`` (Flower quantises
each member's weight ratio), or ``n_i`` on the plain path, so the identity
``Σ q_i p_i / Σ q_i = g · Δ`` holds up to the quantisation of the sum.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from flwr.common import Scalar
from flwr.serverapp import Grid
from numpy.typing import NDArray

from consortium.errors import ConfigError
from consortium.federation.grids import evaluate_on
from consortium.federation.secagg import SecAggSettings
from consortium.federation.strategy import RoundOutcome
from consortium.points.valuation import Valuation, consistency_tolerance, value_round

__all__ = ["ScoreSettings", "ScoredRound", "collect_projections", "score_round"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoreSettings:
    """How members release their validation gradient (run config ``score-*``)."""

    noise_multiplier: float = 20.0
    clip: float = 1.0
    max_rows: int = 1_000_000

    def __post_init__(self) -> None:
        if not self.noise_multiplier > 0:
            raise ConfigError("score-noise-multiplier", "must be > 0")
        if not self.clip > 0:
            raise ConfigError("score-clip", "must be > 0")
        if self.max_rows < 1:
            raise ConfigError("score-max-rows", "must be >= 1")

    def member_config(self, secagg: SecAggSettings | None) -> dict[str, Scalar]:
        """Return the train-instruction keys of a scored round."""
        config: dict[str, Scalar] = {
            "score-noise-multiplier": self.noise_multiplier,
            "score-clip": self.clip,
            "score-scale": self.scale(secagg),
            "score-max-rows": self.max_rows,
        }
        if secagg is not None:
            config["update-clipping-range"] = secagg.clipping_range
        return config

    def scale(self, secagg: SecAggSettings | None) -> float:
        """Factor that maps a gradient sum (norm at most ``max_rows * clip``) into ``±R``.

        Under SecAgg+ one quantum is then ``2 max_rows clip / Q`` of a sum (0.48 clip at the
        defaults), far below the release noise ``σ clip``.
        """
        reach = secagg.clipping_range if secagg is not None else 1.0
        return reach / (self.max_rows * self.clip)


@dataclass(frozen=True)
class ScoredRound:
    """What scoring one round produced (``valuation``) and cost (``seconds``)."""

    valuation: Valuation
    projections: dict[str, float]
    seconds: float


def collect_projections(
    grid: Grid,
    *,
    gradient: Sequence[NDArray[np.floating]],
    members: Mapping[int, str],
    config: Mapping[str, Scalar],
    timeout: float | None,
) -> dict[str, float]:
    """Send ``g`` to ``members`` (node id -> member id); return the projections they report."""
    replies = evaluate_on(
        grid,
        members,
        [np.asarray(g, dtype=np.float32) for g in gradient],
        {**config, "task": "score"},
        labels=members,
        timeout=timeout,
        purpose="scoring",
    )
    projections: dict[str, float] = {}
    for member, res in replies.items():
        if "projection" in res.metrics:
            projections[member] = float(res.metrics["projection"])  # type: ignore[arg-type]
        else:
            logger.warning("scoring: %s declined", member)
    return projections


def effective_weights(
    examples: Mapping[str, int], secagg: SecAggSettings | None
) -> dict[str, float]:
    """Return the weights the aggregate really used (see the module docstring)."""
    if secagg is None:
        return {m: float(n) for m, n in examples.items()}
    q = secagg.quantization_range
    return {m: float(round(n / secagg.max_weight * q)) for m, n in examples.items()}


def score_round(  # noqa: PLR0913
    grid: Grid,
    *,
    outcome: RoundOutcome,
    old_arrays: Sequence[NDArray[np.generic]],
    settings: ScoreSettings,
    secagg: SecAggSettings | None,
    max_weight: float,
    nodes: Mapping[str, int],
    config: Mapping[str, Scalar],
    timeout: float | None = None,
) -> ScoredRound:
    """Value every member of a scored round's aggregate (the update slots come first).

    Parameters
    ----------
    outcome
        The round: ``arrays`` holds the new model then the averaged, scaled gradient sums;
        ``member_metrics`` each aggregated member's ``num_examples`` and ``score_rows``.
    old_arrays
        The model the round started from.
    nodes
        Member id -> node id, for the members to ask.
    config
        Sent with the score instruction (model, round).
    """
    started = time.perf_counter()
    n = len(old_arrays)
    new = [np.asarray(a, dtype=np.float64) for a in outcome.arrays[:n]]
    scaled = [np.asarray(a, dtype=np.float64) for a in outcome.arrays[n:]]
    examples = {
        m: int(v["num_examples"])  # type: ignore[call-overload]
        for m, v in outcome.member_metrics.items()
        if int(v["num_examples"]) > 0  # type: ignore[call-overload]
    }
    weights = effective_weights(examples, secagg)
    metrics = outcome.member_metrics
    rows = sum(int(metrics[m].get("score_rows", 0)) for m in examples)  # type: ignore[call-overload]
    if not rows:
        valuation = value_round(
            projections={}, weights=weights, aggregate=0.0, tolerance=0.0, gradient_available=False
        )
        return ScoredRound(valuation, {}, time.perf_counter() - started)
    # The slots average to scale * Σ G_j / Σ ratio_j (members that declined sent zeros).
    ratios = (
        sum(weights.values()) / secagg.quantization_range
        if secagg is not None
        else sum(examples.values()) / max_weight
    )
    factor = ratios / settings.scale(secagg) / rows
    # float32 on the wire (half the bytes); the check below uses exactly what members receive
    gradient = [(s * factor).astype(np.float32).astype(np.float64) for s in scaled]
    delta = (
        list(outcome.update[:n])
        if outcome.update
        else [a - np.asarray(o, dtype=np.float64) for a, o in zip(new, old_arrays, strict=True)]
    )
    aggregate = float(sum(np.vdot(g, d) for g, d in zip(gradient, delta, strict=True)))
    projections = collect_projections(
        grid,
        gradient=gradient,
        members={nodes[m]: m for m in examples if m in nodes},
        config=config,
        timeout=timeout,
    )
    if secagg is not None:
        quantum = 2 * secagg.clipping_range / secagg.quantization_range
        weight_sum = sum(weights.values()) / secagg.quantization_range
    else:
        quantum, weight_sum = 0.0, float(sum(weights.values()))
    tolerance = consistency_tolerance(
        gradient,
        delta,
        members=outcome.num_members,
        quantum=quantum,
        weight_sum=weight_sum,
    )
    valuation = value_round(
        projections=projections, weights=weights, aggregate=aggregate, tolerance=tolerance
    )
    if valuation.status != "ok":
        logger.warning(
            "round %s scores refused: %s (gap %.3g, tolerance %.3g)",
            config.get("round"),
            valuation.status,
            valuation.gap,
            valuation.tolerance,
        )
    return ScoredRound(valuation, projections, time.perf_counter() - started)
