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
from flwr.serverapp import Grid
from numpy.typing import NDArray

from consortium.errors import ConfigError
from consortium.federation.grids import evaluate_on
from consortium.federation.instructions import Instruction
from consortium.federation.secagg import SecAggSettings
from consortium.federation.strategy import RoundOutcome
from consortium.points.valuation import Valuation, consistency_tolerance, value_round

__all__ = ["ScoredRound", "collect_projections", "effective_weights", "score_round"]

logger = logging.getLogger(__name__)


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
    instruction: Instruction,
    timeout: float | None,
) -> dict[str, float]:
    """Send ``g`` to ``members`` (node id -> member id); return the projections they report."""
    replies = evaluate_on(
        grid,
        members,
        [np.asarray(g, dtype=np.float32) for g in gradient],
        instruction,
        labels=members,
        timeout=timeout,
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
    instruction: Instruction,
    secagg: SecAggSettings | None,
    max_weight: float,
    nodes: Mapping[str, int],
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
    instruction
        The ``score`` instruction of the round (its score settings, model and round).
    nodes
        Member id -> node id, for the members to ask.
    """
    settings = instruction.score
    if settings is None:
        raise ConfigError("score", "score_round needs a scored round's instruction")
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
    factor = ratios / settings.scale(secagg.clipping_range if secagg else None) / rows
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
        instruction=instruction,
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
            instruction.server_round,
            valuation.status,
            valuation.gap,
            valuation.tolerance,
        )
    return ScoredRound(valuation, projections, time.perf_counter() - started)
