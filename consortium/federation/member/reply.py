"""What a member's task returns to the ClientApp, which packs it into Flower's reply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from numpy.typing import NDArray

__all__ = ["MetricValues", "Reply"]

MetricValues = dict[str, bool | bytes | float | int | str]
"""Flower's metric value types."""


@dataclass(frozen=True)
class Reply:
    """Arrays (masked by SecAgg+ on the way out), the example count, and plaintext metrics.

    The only plaintext figures a member sends are counts, ε spent and aggregate scores.
    """

    arrays: Sequence[NDArray[Any]] = field(default_factory=list)
    num_examples: int = 0
    metrics: MetricValues = field(default_factory=dict)
    loss: float = 0.0
