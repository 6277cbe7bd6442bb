"""DP-SGD through the real Opacus engine, with the budget persisted across runs."""

from __future__ import annotations

import math
import tempfile
import warnings
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consortium.errors import BudgetExceeded
from consortium.models.progress import ProgressEvent
from consortium.models.training import TensorBatches, TrainConfig, fit_module
from consortium.privacy.budget import PrivacyBudget
from consortium.privacy.engine import DPEngine, _quiet_ghost_clipping_hooks
from consortium.privacy.ledger import PrivacyLedger

CPU = torch.device("cpu")


def _data(n: int = 400) -> TensorBatches:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=gen)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [0.0]]) + 0.1 * torch.randn(n, 1, generator=gen)
    return TensorBatches(x, y)


def _run(home: Path, budget: PrivacyBudget, epochs: int, seed: int = 0) -> float | None:
    torch.manual_seed(seed)
    engine = DPEngine(ledger=PrivacyLedger.load(home, "toy"), budget=budget, seed=seed)
    result = fit_module(
        torch.nn.Linear(4, 1),
        _data(),
        criterion=torch.nn.MSELoss(),
        config=TrainConfig(epochs=epochs, batch_size=50, seed=seed),
        device=CPU,
        privatizer=engine,
    )
    return result.epsilon


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    epsilon=st.floats(0.5, 10.0),
    epochs=st.lists(st.integers(1, 3), min_size=2, max_size=3),
)
def test_epsilon_never_exceeds_budget_nor_decreases_across_resumed_runs(
    epsilon: float, epochs: list[int]
) -> None:
    # Prepare
    budget = PrivacyBudget(epsilon=epsilon, delta=1e-4)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        spent = [0.0]
        refusals: list[BudgetExceeded] = []
        # Execute: each run reloads the ledger from disk, as a new process would
        for run_epochs in epochs:
            try:
                _run(home, budget, run_epochs)
            except BudgetExceeded as exc:
                refusals.append(exc)
            spent.append(PrivacyLedger.load(home, "toy").spent(budget.delta))
        # Assert
        assert all(s <= epsilon for s in spent)
        assert all(b >= a for a, b in zip(spent, spent[1:], strict=False))
        assert spent[1] > 0.0
        assert all(exc.limit == epsilon for exc in refusals)
        assert len(refusals) >= len(epochs) - 2  # the first run plans to use (almost) everything


def test_second_run_is_refused_once_the_budget_is_spent(tmp_path: Path) -> None:
    # Prepare: the first run plans its noise to use (almost) the whole budget
    budget = PrivacyBudget(epsilon=1.0, delta=1e-4)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        _run(tmp_path, budget, epochs=2)
    spent = PrivacyLedger.load(tmp_path, "toy").spent(budget.delta)
    assert 0.95 <= spent <= 1.0
    # torch's hook warning at every ghost-clipping step is silenced (issue 16)
    assert not [w for w in shown if "fast_gradient_clipping" in w.filename], shown
    # Execute
    with pytest.raises(BudgetExceeded) as caught:
        _run(tmp_path, budget, epochs=1)
    # Assert: refused before any step, nothing more recorded
    assert caught.value.limit == 1.0
    assert PrivacyLedger.load(tmp_path, "toy").spent(budget.delta) == pytest.approx(spent)


def test_a_larger_budget_later_plans_against_what_is_left(tmp_path: Path) -> None:
    # Prepare
    _run(tmp_path, PrivacyBudget(epsilon=1.0, delta=1e-4), epochs=1)
    first = PrivacyLedger.load(tmp_path, "toy").spent(1e-4)
    # Execute
    _run(tmp_path, PrivacyBudget(epsilon=3.0, delta=1e-4), epochs=1)
    # Assert
    total = PrivacyLedger.load(tmp_path, "toy").spent(1e-4)
    assert first < total <= 3.0


def test_steps_taken_before_a_crash_are_still_charged(tmp_path: Path) -> None:
    # Prepare
    budget = PrivacyBudget(epsilon=4.0, delta=1e-4)
    engine = DPEngine(ledger=PrivacyLedger.load(tmp_path, "toy"), budget=budget, seed=0)

    def crash_after_three(event: ProgressEvent) -> None:
        if event.step == 3:
            raise KeyboardInterrupt

    # Execute
    with pytest.raises(KeyboardInterrupt):
        fit_module(
            torch.nn.Linear(4, 1),
            _data(),
            criterion=torch.nn.MSELoss(),
            config=TrainConfig(epochs=2, batch_size=50),
            device=CPU,
            privatizer=engine,
            on_progress=crash_after_three,
        )
    # Assert
    ledger = PrivacyLedger.load(tmp_path, "toy")
    assert ledger.steps == 3
    assert ledger.spent() > 0


def test_infinite_epsilon_trains_without_noise_and_is_recorded(tmp_path: Path) -> None:
    # Execute
    eps = _run(tmp_path, PrivacyBudget(epsilon=math.inf, delta=1e-4), epochs=1)
    # Assert
    assert eps is None
    assert math.isinf(PrivacyLedger.load(tmp_path, "toy").spent(1e-4))
    with pytest.raises(BudgetExceeded):
        _run(tmp_path, PrivacyBudget(epsilon=8.0, delta=1e-4), epochs=1)


def test_dp_training_still_learns_a_linear_signal(tmp_path: Path) -> None:
    # Prepare
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    data = _data(2000)
    engine = DPEngine(
        ledger=PrivacyLedger.load(tmp_path, "toy"), budget=PrivacyBudget(8.0, 1e-4), seed=0
    )
    x, y = data.tensors
    with torch.no_grad():
        before = float(torch.nn.functional.mse_loss(model(x), y))
    # Execute
    fit_module(
        model,
        data,
        criterion=torch.nn.MSELoss(),
        config=TrainConfig(epochs=5, batch_size=200, learning_rate=0.05),
        device=CPU,
        privatizer=engine,
    )
    # Assert
    with torch.no_grad():
        after = float(torch.nn.functional.mse_loss(model(x), y))
    assert after < 0.5 * before


def _weights_after_dp_run(home: Path, seed: int | None) -> torch.Tensor:
    torch.manual_seed(0)  # same initialisation and same run seed every time
    model = torch.nn.Linear(4, 1)
    engine = DPEngine(ledger=PrivacyLedger.load(home, "toy"), budget=PrivacyBudget(4.0, 1e-4),
                      seed=seed)  # fmt: skip
    config = TrainConfig(epochs=1, batch_size=50, seed=0)
    fit_module(model, _data(), criterion=torch.nn.MSELoss(), config=config, device=CPU,
               privatizer=engine)  # fmt: skip
    return model.weight.detach().clone()


def test_noise_and_sampling_are_unpredictable_unless_a_seed_is_given(tmp_path: Path) -> None:
    # The run's seed and round are public: without an explicit noise seed two otherwise
    # identical runs must differ (fresh OS entropy), with one they must agree (tests only).
    free = [_weights_after_dp_run(tmp_path / f"free{i}", None) for i in range(2)]
    fixed = [_weights_after_dp_run(tmp_path / f"fixed{i}", 123) for i in range(2)]
    assert not torch.equal(free[0], free[1])
    assert torch.equal(fixed[0], fixed[1])


def test_the_hook_warning_filter_is_narrow() -> None:
    # Prepare: the filter the engine installs when it wraps a model
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        _quiet_ghost_clipping_hooks()
        # Execute: the same text from Opacus's ghost clipping, then from anywhere else
        for module in ("opacus.utils.fast_gradient_clipping_utils", "consortium.models.training"):
            warnings.warn_explicit("Full backward hook is firing when gradients are computed",
                                   UserWarning, "x.py", 1, module=module)  # fmt: skip
        warnings.warn_explicit("Secure RNG turned off", UserWarning, "y.py", 1,
                               module="opacus.utils.fast_gradient_clipping_utils")  # fmt: skip
    # Assert
    assert [(w.filename, str(w.message)[:6]) for w in shown] == [("x.py", "Full b"),
                                                                  ("y.py", "Secure")]  # fmt: skip
