"""``evaluate`` and ``score``: what a member says about the global model, and nothing more.

``evaluate`` scores the calibrated global model on the member's own test rows, returns metrics
only and keeps a copy of the model in the member's home (it answers warehouse queries with it).
``score`` answers one number, ``g · u`` for the member's own update ``u`` of that round, given the
consortium's summed validation gradient ``g`` (:mod:`consortium.points.valuation`).
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
from consortium.federation.member.training import LAST_ROUND_KEY, LAST_UPDATE_KEY
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
    """Return ``g · u`` for this member's update of the instructed round, or decline."""
    del node
    marker = state.config_records.get(LAST_ROUND_KEY)
    current = marker is not None and (marker.get("model"), marker.get("round")) == (
        ins.model,
        ins.server_round,
    )
    if not current or LAST_UPDATE_KEY not in state.array_records:
        return Reply([], 0, {"declined": 1})
    update = state.array_records[LAST_UPDATE_KEY].to_numpy_ndarrays()
    if [np.shape(g) for g in gradient] != [np.shape(u) for u in update]:
        raise ConfigError("score", "the gradient does not match this member's update")
    projection = sum(
        float(np.dot(np.asarray(g, dtype=np.float64).ravel(), np.asarray(u).ravel()))
        for g, u in zip(gradient, update, strict=True)
    )
    return Reply([], 1, {"projection": projection})
