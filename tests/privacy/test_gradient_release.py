"""The member's DP validation gradient: per-row clipping, Gaussian noise, and its accounting."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from consortium.errors import ConfigError
from consortium.models.losses import EtaLoss, MaskedBCELoss
from consortium.models.network import WideDeepNet
from consortium.models.training import TensorBatches
from consortium.privacy.budget import epsilon_spent
from consortium.privacy.gradient_release import (
    clipped_gradient_sum,
    record_release,
    release_gradient,
)
from consortium.privacy.ledger import PrivacyLedger


def _net(seed: int = 0) -> WideDeepNet:
    torch.manual_seed(seed)
    net = WideDeepNet(n_fields=3, buckets=8, n_numeric=4, n_outputs=4, hidden=(16,))
    for p in net.parameters():
        nn.init.normal_(p, std=0.3)  # zero-initialised heads would hide most gradients
    return net


def _rows(n: int, seed: int = 0, outputs: str = "eta") -> TensorBatches:
    g = torch.Generator().manual_seed(seed)
    cat = torch.stack([torch.randint(0, 8, (n,), generator=g) + 8 * f for f in range(3)], 1)
    num = torch.randn(n, 4, generator=g)
    if outputs == "eta":
        target = torch.stack([torch.randn(n, generator=g), (torch.rand(n, generator=g) > 0.5)
                              .float()], 1)  # fmt: skip
    else:
        target = (torch.rand(n, 4, generator=g) > 0.7).float()
        target[: n // 3, 2:] = float("nan")  # incomplete horizons are ignored
    return TensorBatches(cat, num, target)


def _reference(net: nn.Module, data: TensorBatches, criterion: nn.Module, clip: float) -> list:
    """One backward pass per row: the definition of the clipped sum."""
    params = list(net.parameters())
    total = [torch.zeros_like(p, dtype=torch.float64) for p in params]
    for i in range(len(data)):
        net.zero_grad()
        *inputs, target = data.__getitems__([i])
        criterion(net(*inputs), target).backward()
        grads = [p.grad.detach().double() for p in params]
        norm = math.sqrt(sum(float((g**2).sum()) for g in grads))
        scale = min(1.0, clip / (norm + 1e-6))
        for t, g in zip(total, grads, strict=True):
            t += scale * g
    net.zero_grad()
    return total


@pytest.mark.parametrize(
    ("outputs", "criterion", "clip"),
    [("eta", EtaLoss(interval_level=0.8), 0.5), ("stock", MaskedBCELoss(), 0.05),
     ("eta", EtaLoss(interval_level=0.8), 1e6)],  # fmt: skip
)
def test_clipped_sum_matches_one_backward_pass_per_row(
    outputs: str, criterion: nn.Module, clip: float
) -> None:
    net = _net()
    data = _rows(40, outputs=outputs)
    got = clipped_gradient_sum(net, data, criterion, clip=clip)
    want = _reference(net, data, criterion, clip)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-4, atol=1e-6)


def test_one_row_moves_the_sum_by_at_most_the_clip() -> None:
    # Sensitivity: the Gaussian mechanism's guarantee rests on it.
    net = _net(1)
    data = _rows(30, seed=2)
    cat, num, target = data.tensors
    outlier = TensorBatches(
        torch.cat([cat, cat[:1]]),
        torch.cat([num, num[:1] * 100]),
        torch.cat([target, target[:1] + 50]),
    )
    criterion = EtaLoss(interval_level=0.8)
    clip = 0.25
    without = clipped_gradient_sum(net, data, criterion, clip=clip)
    with_row = clipped_gradient_sum(net, outlier, criterion, clip=clip)
    moved = math.sqrt(
        sum(float(((a - b) ** 2).sum()) for a, b in zip(with_row, without, strict=True))
    )
    assert 0.9 * clip < moved <= clip * (1 + 1e-5)  # the outlier is clipped, not dropped


def test_the_network_is_left_untouched() -> None:
    net = _net(2)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    release_gradient(net, _rows(20), EtaLoss(interval_level=0.8), clip=1.0, noise_multiplier=1.0)
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key])
    assert all(p.grad is None for p in net.parameters())


def test_release_adds_gaussian_noise_of_sigma_times_clip_to_the_sum() -> None:
    net = _net(3)
    data = _rows(25, seed=4)
    criterion = EtaLoss(interval_level=0.8)
    clean = clipped_gradient_sum(net, data, criterion, clip=0.5)
    release = release_gradient(net, data, criterion, clip=0.5, noise_multiplier=3.0, seed=11)
    assert release.rows == 25
    noise = np.concatenate(
        [(r - c.numpy()).ravel() for r, c in zip(release.sums, clean, strict=True)]
    )
    assert noise.size > 500
    assert abs(float(noise.mean())) < 0.2
    assert float(noise.std()) == pytest.approx(3.0 * 0.5, rel=0.1)
    again = release_gradient(net, data, criterion, clip=0.5, noise_multiplier=3.0, seed=11)
    assert all(np.array_equal(a, b) for a, b in zip(again.sums, release.sums, strict=True))


def test_no_rows_release_zeros_and_bad_settings_are_refused() -> None:
    net = _net()
    empty = release_gradient(net, _rows(0), EtaLoss(interval_level=0.8), clip=1.0,
                             noise_multiplier=1.0)  # fmt: skip
    assert empty.rows == 0
    assert all(not a.any() for a in empty.sums)
    with pytest.raises(ConfigError, match="score-noise-multiplier"):
        release_gradient(net, _rows(3), EtaLoss(interval_level=0.8), clip=1.0, noise_multiplier=0)
    with pytest.raises(ConfigError, match="score-clip"):
        clipped_gradient_sum(net, _rows(3), EtaLoss(interval_level=0.8), clip=0.0)


def test_release_is_recorded_or_declined_against_the_rounds_cap(tmp_path: Path) -> None:
    ledger = PrivacyLedger.load(tmp_path, "eta")
    ledger.record(noise_multiplier=1.1, sample_rate=0.01, steps=300, delta=1e-5)
    before = ledger.spent()
    after = epsilon_spent([*ledger.history, (20.0, 1.0, 1)], delta=1e-5)
    assert after > before
    # Declined: it would reach the cap; nothing is written.
    assert not record_release(ledger, noise_multiplier=20.0, delta=1e-5, cap=after)
    assert PrivacyLedger.load(tmp_path, "eta").spent() == pytest.approx(before)
    # Recorded: one step at sample rate 1, persisted at once.
    assert record_release(ledger, noise_multiplier=20.0, delta=1e-5, cap=after + 1e-6)
    reloaded = PrivacyLedger.load(tmp_path, "eta")
    assert reloaded.history[-1] == (20.0, 1.0, 1)
    assert reloaded.spent() == pytest.approx(after)


def test_two_members_never_share_noise_by_default() -> None:
    # Same network, same rows, same round: only the noise can differ, and it must.
    net, data = _net(5), _rows(20, seed=6)
    criterion = EtaLoss(interval_level=0.8)
    first = release_gradient(net, data, criterion, clip=1.0, noise_multiplier=2.0)
    second = release_gradient(net, data, criterion, clip=1.0, noise_multiplier=2.0)
    pairs = zip(first.sums, second.sums, strict=True)
    diff = np.concatenate([(a - b).ravel() for a, b in pairs])
    # independent draws: the difference has sd sqrt(2) * σC
    assert float(diff.std()) == pytest.approx(2**0.5 * 2.0, rel=0.15)
