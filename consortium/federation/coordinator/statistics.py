"""Stage 1: a secure sum of the members' scaling statistics (and, for ETA, their lane sums).

The coordinator sees only consortium-wide sums; every member then standardises with the same
mean and standard deviation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from consortium.federation.coordinator.session import Session
from consortium.federation.instructions import Task
from consortium.federation.secure_sum import run_secure_sum

__all__ = ["gather_statistics"]


def gather_statistics(session: Session) -> tuple[Any, np.ndarray | None]:
    """Return the consortium-wide statistics and catalog sums (``None``: the family has none)."""
    fam = session.family
    result = run_secure_sum(
        session.grid,
        session.context,
        shapes=fam.secure_sum_shapes(),
        fit_config=session.instruction(Task.STATS).to_config(),
        server_round=0,
        node_labels=session.labels,
        min_members=session.run.min_members,
    )
    stats = fam.statistics_from_sums(result.sums)
    session.emit("statistics", 0, members=result.members)
    catalog = fam.catalog_sums
    return stats, (result.sums.get(catalog.name) if catalog is not None else None)
