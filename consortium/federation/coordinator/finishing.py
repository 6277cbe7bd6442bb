"""Stages 3 and 4: a secure sum of calibration, then federated evaluation (metrics only).

Calibration sums the CQR score histograms and Platt coefficients of the global model on every
member's validation rows; evaluation asks each member to score the calibrated model on its own
test rows and report metrics only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from consortium.federation.coordinator.session import Session
from consortium.federation.grids import evaluate_on
from consortium.federation.instructions import Task
from consortium.federation.secure_sum import run_secure_sum
from consortium.models.family import AnyModel

__all__ = ["calibrate", "evaluate"]


def calibrate(session: Session, model: AnyModel, arrays: list[np.ndarray], stats: Any) -> None:
    """Set ``model``'s calibration from the members' secure-summed contributions."""
    fam = session.family
    result = run_secure_sum(
        session.grid,
        session.context,
        shapes=fam.calibration_shapes,
        carry=arrays,
        fit_config=session.instruction(Task.CALIBRATE, stats=stats).to_config(),
        server_round=session.run.rounds + 1,
        node_labels=session.labels,
        min_members=session.run.min_members,
    )
    fam.apply_calibration_sums(model, result.sums)
    session.emit("calibration", session.run.rounds, members=result.members)


def evaluate(
    session: Session, model: AnyModel, arrays: list[np.ndarray], stats: Any
) -> dict[str, dict[str, float]]:
    """Return each member's metrics of the calibrated global model on its own test rows."""
    ins = session.instruction(
        Task.EVALUATE, stats=stats, calibration=session.family.calibration_dict(model)
    )
    replies = evaluate_on(
        session.grid,
        session.grid.get_node_ids(),
        arrays,
        ins,
        labels=session.labels,
        timeout=session.run.round_timeout,
    )
    per_member: dict[str, dict[str, float]] = {
        member: {
            **{k: float(v) for k, v in res.metrics.items()},  # type: ignore[arg-type]
            "test_rows": float(res.num_examples),
        }
        for member, res in replies.items()
    }
    session.emit("evaluation", session.run.rounds, metrics=per_member)
    return per_member
