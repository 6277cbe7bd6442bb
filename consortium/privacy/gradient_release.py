"""A member's differentially private validation gradient (the quality-aware contribution rule).

The leave-one-out contribution rule (:mod:`consortium.points.valuation`) needs the gradient of
the consortium's validation loss (over every member's validation rows) at the round's starting
model. Each member releases its share of it -- the sum over its validation rows of the per-row
gradients, each clipped to norm ``C``, plus Gaussian noise ``N(0, (σ C)^2)`` on every coordinate
-- into a SecAgg+ sum, so the coordinator only ever sees the consortium-wide total.

Adding or removing one row moves the clipped sum by at most ``C``: this is the Gaussian
mechanism with noise multiplier ``σ``, i.e. one DP-SGD step at sample rate 1, and the member
records it as such in its own accountant (:func:`record_release`) *before* it trains in the
same round, so that training plans its noise against a history that already holds it.

Per-row norms come from Opacus's ghost clipping (``GradSampleModuleFastGradientClipping``, the
same hooks DP-SGD training uses), then one second backward pass of the clip-weighted losses
gives the clipped sum without materialising per-row gradients.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray
from opacus.grad_sample import GradSampleModuleFastGradientClipping
from torch import nn

import consortium.privacy.samplers  # noqa: F401  (registers the FieldEmbedding norm sampler)
from consortium.errors import ConfigError
from consortium.models.training import TensorBatches
from consortium.privacy.budget import epsilon_spent
from consortium.privacy.ledger import PrivacyLedger
from consortium.privacy.randomness import noise_generator

__all__ = ["GradientRelease", "clipped_gradient_sum", "record_release", "release_gradient"]

_BATCH = 4096


@dataclass(frozen=True)
class GradientRelease:
    """A member's released gradient ``clipped sum + noise`` (parameter order) and its row count."""

    sums: list[NDArray[np.float64]]
    rows: int


def clipped_gradient_sum(
    network: nn.Module, data: TensorBatches, criterion: nn.Module, *, clip: float
) -> list[torch.Tensor]:
    """Return ``sum_x clip_C(grad loss(x))`` over every row of ``data`` (no noise).

    One tensor per entry of ``network.state_dict()``, in its order. ``network`` is left
    untouched (a copy is wrapped); ``criterion`` must support ``reduction = "none"`` (per-row
    losses), as the kit's losses do.
    """
    if not clip > 0:
        raise ConfigError("score-clip", f"must be > 0, got {clip}")
    module = copy.deepcopy(network).cpu()
    module.train()
    # in state_dict order (the order model arrays travel in); the kit's networks hold no buffers
    params = [module.get_parameter(name) for name in module.state_dict()]
    totals = [torch.zeros_like(p, dtype=torch.float64) for p in params]
    per_row = copy.copy(criterion)
    per_row.reduction = "none"  # type: ignore[assignment]
    gsm = GradSampleModuleFastGradientClipping(
        module, max_grad_norm=clip, use_ghost_clipping=True, loss_reduction="sum"
    )
    with warnings.catch_warnings():
        # benign: the first layers' inputs (indices, numbers) need no gradient
        warnings.filterwarnings("ignore", message="Full backward hook is firing")
        try:
            for start in range(0, len(data), _BATCH):
                *inputs, target = data.__getitems__(range(start, min(start + _BATCH, len(data))))
                losses = per_row(gsm(*inputs), target)
                losses.sum().backward(retain_graph=True)  # hooks compute per-row gradient norms
                coef = gsm.get_clipping_coef().detach()
                for p in params:
                    p.grad = None
                gsm.disable_hooks()
                (coef * losses).sum().backward()
                gsm.enable_hooks()
                for total, p in zip(totals, params, strict=True):
                    if p.grad is not None:
                        total += p.grad.detach().to(torch.float64)
                    p.grad = None
        finally:
            gsm.remove_hooks()
    return totals


def release_gradient(
    network: nn.Module,
    data: TensorBatches,
    criterion: nn.Module,
    *,
    clip: float,
    noise_multiplier: float,
    seed: int | None = None,
) -> GradientRelease:
    """Return the Gaussian-mechanism release of the clipped gradient sum over ``data``.

    Record it with :func:`record_release` first; with no rows the release is all zeros. The
    noise comes from :func:`~consortium.privacy.randomness.noise_generator` (OS entropy unless
    a test gives ``seed``).
    """
    if not noise_multiplier > 0:
        raise ConfigError("score-noise-multiplier", f"must be > 0, got {noise_multiplier}")
    rows = len(data)
    if rows == 0:
        shapes = [tuple(t.shape) for t in network.state_dict().values()]
        return GradientRelease([np.zeros(s) for s in shapes], 0)
    sums = clipped_gradient_sum(network, data, criterion, clip=clip)
    generator = noise_generator(seed)
    std = noise_multiplier * clip
    noisy = [
        s + torch.normal(0.0, std, size=s.shape, generator=generator, dtype=torch.float64)
        for s in sums
    ]
    return GradientRelease([t.numpy() for t in noisy], rows)


def record_release(
    ledger: PrivacyLedger, *, noise_multiplier: float, delta: float, cap: float
) -> bool:
    """Record one release at ``noise_multiplier`` unless ε after it would reach ``cap``.

    Returns whether it was recorded (the member then releases; otherwise it declines and
    keeps what is left of the round's ε for training).
    """
    if not noise_multiplier > 0:
        raise ConfigError("score-noise-multiplier", f"must be > 0, got {noise_multiplier}")
    step = (float(noise_multiplier), 1.0, 1)
    if epsilon_spent([*ledger.history, step], delta=delta) >= cap:
        return False
    ledger.record(noise_multiplier=noise_multiplier, sample_rate=1.0, steps=1, delta=delta)
    return True
