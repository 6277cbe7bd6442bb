"""Per-sample losses of the two models (criteria Opacus's ghost clipping can wrap).

Each criterion has a ``reduction`` attribute: ``"mean"`` for training, ``"none"`` for the
per-sample losses Opacus asks for between its two backward passes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def split_eta_outputs(
    outputs: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return ``(lower, median, upper, on_time_logit)``; the quantiles never cross."""
    median = outputs[:, 0]
    lower = median - F.softplus(outputs[:, 1] + 1.0)
    upper = median + F.softplus(outputs[:, 2] + 1.0)
    return lower, median, upper, outputs[:, 3]


def pinball(target: torch.Tensor, pred: torch.Tensor, level: float) -> torch.Tensor:
    """Return the per-sample pinball (quantile) loss at ``level``."""
    diff = target - pred
    return torch.maximum(level * diff, (level - 1.0) * diff)


def _reduce(per_sample: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "none":
        return per_sample
    if reduction == "sum":
        return per_sample.sum()
    return per_sample.mean()


class EtaLoss(nn.Module):
    """Pinball loss of the lower, median and upper heads plus BCE of the on-time head.

    The target is ``(batch, 2)``: the transformed, standardised delay and the on-time flag.

    Examples
    --------
    >>> loss = EtaLoss(interval_level=0.8)
    >>> float(loss(torch.zeros(2, 4), torch.tensor([[0.0, 1.0], [0.0, 0.0]]))) > 0
    True
    """

    def __init__(self, *, interval_level: float, on_time_weight: float = 0.5) -> None:
        super().__init__()
        self.low_level = (1.0 - interval_level) / 2.0
        self.high_level = 1.0 - self.low_level
        self.on_time_weight = on_time_weight
        self.reduction = "mean"

    def forward(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Return the loss, reduced per :attr:`reduction`."""
        lower, median, upper, logit = split_eta_outputs(outputs)
        y, on_time = target[:, 0], target[:, 1]
        per_sample = (
            2.0 * pinball(y, median, 0.5)
            + pinball(y, lower, self.low_level)
            + pinball(y, upper, self.high_level)
            + self.on_time_weight
            * F.binary_cross_entropy_with_logits(logit, on_time, reduction="none")
        )
        return _reduce(per_sample, self.reduction)


class MaskedBCELoss(nn.Module):
    """Binary cross-entropy over several heads, ignoring NaN targets (incomplete horizons)."""

    def __init__(self) -> None:
        super().__init__()
        self.reduction = "mean"

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Return the loss, reduced per :attr:`reduction`."""
        known = ~torch.isnan(target)
        bce = F.binary_cross_entropy_with_logits(logits, torch.nan_to_num(target), reduction="none")
        per_sample = (bce * known).sum(dim=1)
        return _reduce(per_sample, self.reduction)
