"""Conformal intervals and Platt scaling, checked on rows the calibration never saw."""

from __future__ import annotations

import numpy as np

from consortium.models.calibration import ConformalInterval, PlattScaler


def _two_modes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    groups = np.where(rng.random(n) < 0.5, "road", "sea")
    y = rng.normal(size=n) * np.where(groups == "sea", 3.0, 0.5)
    return y, groups


def test_mondrian_cqr_holds_the_level_in_each_mode() -> None:
    # Prepare: the same (useless) heads for a calm mode and a volatile one
    y_cal, g_cal = _two_modes(4000, seed=0)
    y_test, g_test = _two_modes(4000, seed=1)
    zeros_cal, zeros_test = np.zeros(4000), np.zeros(4000)
    # Execute
    pooled = ConformalInterval.fit(y_cal, zeros_cal, zeros_cal, level=0.8)
    mondrian = ConformalInterval.fit(y_cal, zeros_cal, zeros_cal, level=0.8, groups=g_cal)
    lo_p, hi_p = pooled.apply(zeros_test, zeros_test)
    lo_m, hi_m = mondrian.apply(zeros_test, zeros_test, g_test)
    # Assert: pooled coverage is wrong in both modes, per-mode coverage is nominal
    for mode in ("road", "sea"):
        mine = g_test == mode
        pooled_cov = np.mean((y_test[mine] >= lo_p[mine]) & (y_test[mine] <= hi_p[mine]))
        mode_cov = np.mean((y_test[mine] >= lo_m[mine]) & (y_test[mine] <= hi_m[mine]))
        assert abs(pooled_cov - 0.8) > 0.1
        assert abs(mode_cov - 0.8) < 0.03


def test_unknown_mode_falls_back_to_the_pooled_offset() -> None:
    y, groups = _two_modes(1000, seed=2)
    cqr = ConformalInterval.fit(y, np.zeros(1000), np.zeros(1000), level=0.8, groups=groups)
    lo, hi = cqr.apply(np.zeros(1), np.zeros(1), np.array(["air"]))
    assert hi[0] == cqr.offset
    assert ConformalInterval.from_dict(cqr.to_dict()) == cqr


def test_platt_scaling_calibrates_overconfident_logits() -> None:
    # Prepare: true probability sigmoid(z), model reports 4 z (overconfident)
    rng = np.random.default_rng(0)
    z = rng.normal(size=20000)
    labels = (rng.random(20000) < 1 / (1 + np.exp(-z))).astype(float)
    scaler = PlattScaler.fit(4 * z[:10000], labels[:10000])
    # Execute
    p = scaler.apply(4 * z[10000:])
    # Assert: held-out Brier close to that of the true probabilities
    true_p = 1 / (1 + np.exp(-z[10000:]))
    brier = np.mean((p - labels[10000:]) ** 2)
    raw_brier = np.mean((1 / (1 + np.exp(-4 * z[10000:])) - labels[10000:]) ** 2)
    assert brier < raw_brier
    assert brier - np.mean((true_p - labels[10000:]) ** 2) < 0.002
