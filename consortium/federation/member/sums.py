"""The member's contributions to the secure sums: scaling statistics and calibration.

Both travel only as fixed-point digits inside SecAgg+ (:func:`encode_arrays`); the coordinator
sees consortium-wide sums. Statistics use rows declared for ``federated-analytics``; calibration
uses the training purpose's validation rows.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from consortium.federation.instructions import Instruction
from consortium.federation.member.node import MemberNode
from consortium.federation.member.reply import Reply
from consortium.federation.member.weights import load_weights
from consortium.federation.secure_sum import encode_arrays
from consortium.models.families import family

__all__ = ["calibration_sums", "statistics_sums"]


def statistics_sums(node: MemberNode, ins: Instruction, arrays: list[NDArray[np.generic]]) -> Reply:
    """Return this member's scaling statistics (and catalog sums) for the secure sum."""
    del arrays  # a statistics instruction carries no model
    fam = family(ins.model)
    split = node.rows(fam, purpose="federated-analytics")
    return Reply(encode_arrays(fam.secure_sum_arrays(split.train), fam.secure_sum_shapes()), 1)


def calibration_sums(
    node: MemberNode, ins: Instruction, arrays: list[NDArray[np.generic]]
) -> Reply:
    """Return the calibration contributions of the global model on this member's validation rows.

    The global weights ride along as zero slots (the secure sum's layout starts with them).
    """
    fam = family(ins.model)
    split = node.rows(fam, purpose=fam.training_purpose)
    model = fam.build(ins.needs_stats(), ins.settings)
    n_weights = len(model.network.state_dict())
    load_weights(model.network, arrays[:n_weights])
    contributions = fam.member_calibration(model, split.valid)
    carried = [np.zeros_like(p) for p in arrays[:n_weights]]
    return Reply(carried + encode_arrays(contributions, fam.calibration_shapes), 1)
