"""The coordinator's server optimiser: FedAvg, FedAvgM and FedAdam steps on the averaged update."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from consortium.errors import ConfigError
from consortium.federation.coordinator.server_optimizer import (
    BETA_2,
    ServerOptimizer,
    ServerOptimizerSettings,
)
from consortium.federation.instructions import RunConfig

finite = st.floats(-10, 10, allow_nan=False, width=32)


@settings(max_examples=30, deadline=None)
@given(
    start=arrays(np.float32, 5, elements=finite),
    updates=st.lists(arrays(np.float64, 5, elements=finite), min_size=1, max_size=4),
)
def test_fedavgm_without_momentum_is_fedavg(start: np.ndarray, updates: list[np.ndarray]) -> None:
    plain = ServerOptimizer(ServerOptimizerSettings("fedavg"))
    avgm = ServerOptimizer(ServerOptimizerSettings("fedavgm", learning_rate=1.0, momentum=0.0))
    a = b = [start]
    for u in updates:
        expected = (a[0].astype(np.float64) + u).astype(np.float32)  # what FedAvg always did
        a, b = plain.step(a, [u]), avgm.step(b, [u])
        np.testing.assert_array_equal(a[0], expected)
        np.testing.assert_array_equal(b[0], expected)
        assert a[0].dtype == np.float32


def test_fedavgm_two_steps_by_hand() -> None:
    opt = ServerOptimizer(ServerOptimizerSettings("fedavgm", learning_rate=0.5, momentum=0.9))
    w0 = [np.array([1.0, 1.0]), np.array([[0.0]])]
    w1 = opt.step(w0, [np.array([1.0, -2.0]), np.array([[4.0]])])
    # m1 = Δ1; w1 = w0 + 0.5 m1
    np.testing.assert_allclose(w1[0], [1.5, 0.0])
    np.testing.assert_allclose(w1[1], [[2.0]])
    w2 = opt.step(w1, [np.array([3.0, 0.0]), np.array([[-4.0]])])
    # m2 = 0.9 m1 + Δ2 = [3.9, -1.8], [[-0.4]]; w2 = w1 + 0.5 m2
    np.testing.assert_allclose(w2[0], [1.5 + 1.95, -0.9])
    np.testing.assert_allclose(w2[1], [[2.0 - 0.2]])


def test_fedadam_two_steps_by_hand() -> None:
    eta, b1, tau = 0.1, 0.9, 1e-3
    opt = ServerOptimizer(ServerOptimizerSettings("fedadam", eta, b1, tau))
    d1, d2 = np.array([2.0, -0.5]), np.array([-1.0, -0.5])
    w1 = opt.step([np.zeros(2)], [d1])[0]
    m, v = (1 - b1) * d1, (1 - BETA_2) * d1**2
    step1 = eta * np.sqrt(1 - BETA_2) / (1 - b1) * m / (np.sqrt(v) + tau)
    np.testing.assert_allclose(w1, step1)
    # bias-corrected, the first step is η sign(Δ) up to τ
    np.testing.assert_allclose(w1, eta * np.sign(d1), rtol=0.05)
    w2 = opt.step([w1], [d2])[0]
    m, v = b1 * m + (1 - b1) * d2, BETA_2 * v + (1 - BETA_2) * d2**2
    step2 = eta * np.sqrt(1 - BETA_2**2) / (1 - b1**2) * m / (np.sqrt(v) + tau)
    np.testing.assert_allclose(w2, w1 + step2)


@pytest.mark.parametrize("kind", ["fedavgm", "fedadam"])
def test_saved_state_continues_the_same_trajectory(kind: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    updates = [[rng.normal(size=3), rng.normal(size=(2, 2))] for _ in range(4)]
    s = ServerOptimizerSettings(kind, 0.3, 0.7)
    whole, first = ServerOptimizer(s), ServerOptimizer(s)
    w = v = [np.zeros(3), np.zeros((2, 2))]
    for u in updates:
        w = whole.step(w, u)
    for u in updates[:2]:
        v = first.step(v, u)
    first.save(tmp_path / "state.npz")
    resumed = ServerOptimizer.load(s, tmp_path / "state.npz")
    for u in updates[2:]:
        v = resumed.step(v, u)
    for a, b in zip(w, v, strict=True):
        np.testing.assert_array_equal(a, b)
    assert ServerOptimizer.load(s, tmp_path / "absent.npz").steps == 0


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("server-optimizer", "sgd"),
        ("server-learning-rate", 0.0),
        ("server-momentum", 1.0),
        ("server-tau", -1.0),
    ],
)
def test_run_config_refuses_a_bad_server_setting_by_name(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=key):
        RunConfig.from_config({key: value})
    run = RunConfig.from_config({"server-optimizer": "fedadam", "server-learning-rate": 0.05})
    assert RunConfig.from_config(run.to_config()).server == run.server
