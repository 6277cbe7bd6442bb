"""Progress events that long model loops emit; each edge renders them its own way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ProgressEvent:
    """One training step (or the end of an epoch) as the edges see it.

    ``epsilon`` is the member's cumulative ε spent (over every earlier run too), refreshed at
    each epoch end; ``None`` when training without differential privacy.
    """

    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int
    loss: float
    epsilon: float | None
    epoch_end: bool = False

    @property
    def fraction(self) -> float:
        """Share of the planned steps done, in [0, 1]."""
        total = max(1, self.epochs * self.steps_per_epoch)
        return min(1.0, ((self.epoch - 1) * self.steps_per_epoch + self.step) / total)


OnProgress = Callable[[ProgressEvent], None]
