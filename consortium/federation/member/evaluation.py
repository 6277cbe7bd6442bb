"""``evaluate`` and ``score``: what a member says about the global model, and nothing more.

``evaluate`` scores the calibrated global model on the member's own test rows, returns metrics
only and keeps a copy of the model in the member's home (it answers warehouse queries with it).
``score`` answers one number, ``g · u`` for the member's own update ``u`` of that round, given the
consortium's summed validation gradient ``g`` (:mod:`consortium.points.valuation`).

A projection is an oracle on ``u``: answered for any ``g`` and any number of times, ``d`` unit
vectors recover ``d`` coordinates exactly. So a member answers **at most one** projection per
round, only for a round it trained in under a *scored* train instruction (the marker
:data:`~consortium.federation.member.training.SCORE_PENDING_KEY` in its own state), and then
removes the marker: a second ask, an ask about another round, or one after an unscored round is
declined. What it does not check: that ``g`` is the gradient the round's secure sum produced (the
member never sees that sum); the one answer ``g · u`` for a ``g`` of the coordinator's choosing
is what the leave-one-out rule costs, one number per member per scored round.
"""

from __future__ import annotations

import math

import numpy as np
from flwr.app import RecordDict
from numpy.typing import NDArray

from consortium.errors import ConfigError
from consortium.federation.instructions import Instruction
from consortium.federation.member.node import MemberNode
from consortium.federation.member.reply import MetricValues, Reply
from consortium.federation.member.training import LAST_UPDATE_KEY, SCORE_PENDING_KEY
from consortium.federation.member.weights import load_weights
from consortium.models.families import family
from consortium.models.store import save_model

__all__ = ["evaluate_global", "project_update"]


def evaluate_global(node: MemberNode, ins: Instruction, arrays: list[NDArray[np.generic]]) -> Reply:
    """Score the calibrated global model on this member's test rows; keep a copy of it."""
    fam = family(ins.model)
    split = node.rows(fam, purpose="evaluation")
    model = fam.build(ins.needs_stats(), ins.settings)
    load_weights(model.network, arrays)
    if ins.calibration is None:
        raise ConfigError("calibration", "an evaluate instruction must carry the calibration")
    fam.set_calibration(model, ins.calibration)
    row = fam.evaluate({model.name: model}, split.test, ins.settings).iloc[0].to_dict()
    metrics: MetricValues = {
        k: float(v) for k, v in row.items() if isinstance(v, int | float) and math.isfinite(v)
    }
    metrics["epsilon_spent"] = node.spent(fam)
    save_model(
        model, node.home / "models" / fam.kind, card={"kind": fam.kind, "source": "federation"}
    )
    loss = float(metrics.get(fam.loss_metric, 0.0))
    return Reply([], len(split.test), metrics, loss=loss)


def project_update(
    node: MemberNode, ins: Instruction, gradient: list[NDArray[np.generic]], state: RecordDict
) -> Reply:
    """Return ``g · u`` once for this member's update of the scored round asked, or decline.

    The pending marker is removed before the answer is computed: whatever happens next, this
    round's projection has been given (see the module docstring).
    """
    del node
    marker = state.config_records.get(SCORE_PENDING_KEY)
    current = marker is not None and (marker.get("model"), marker.get("round")) == (
        ins.model,
        ins.server_round,
    )
    if not current or LAST_UPDATE_KEY not in state.array_records:
        return Reply([], 0, {"declined": 1})
    del state.config_records[SCORE_PENDING_KEY]  # at most one answer per scored round
    update = state.array_records[LAST_UPDATE_KEY].to_numpy_ndarrays()
    if [np.shape(g) for g in gradient] != [np.shape(u) for u in update]:
        raise ConfigError("score", "the gradient does not match this member's update")
    projection = sum(
        float(np.dot(np.asarray(g, dtype=np.float64).ravel(), np.asarray(u).ravel()))
        for g, u in zip(gradient, update, strict=True)
    )
    return Reply([], 1, {"projection": projection})
