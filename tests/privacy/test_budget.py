"""Budget validation, noise planning and the persistent ledger."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consortium.errors import BudgetExceeded, ConfigError, ModelError
from consortium.privacy.budget import (
    PrivacyBudget,
    epsilon_spent,
    max_steps,
    plan_noise_multiplier,
)
from consortium.privacy.ledger import PrivacyLedger


@pytest.mark.parametrize("epsilon", [0.0, -1.0, math.nan])
def test_budget_rejects_non_positive_epsilon(epsilon: float) -> None:
    # Execute
    with pytest.raises(ConfigError) as caught:
        PrivacyBudget(epsilon=epsilon, delta=1e-5)
    # Assert
    assert caught.value.name == "epsilon"


@pytest.mark.parametrize("delta", [0.0, -1e-5, 1.0])
def test_budget_rejects_delta_outside_unit_interval(delta: float) -> None:
    with pytest.raises(ConfigError) as caught:
        PrivacyBudget(epsilon=1.0, delta=delta)
    assert caught.value.name == "delta"


def test_budget_rejects_delta_not_below_one_over_n() -> None:
    # Prepare
    budget = PrivacyBudget(epsilon=1.0, delta=1e-3)
    # Execute / Assert
    budget.check_rows(999)
    with pytest.raises(ConfigError) as caught:
        budget.check_rows(1000)
    assert caught.value.name == "delta"
    assert "1/n" in caught.value.reason


@settings(max_examples=15, deadline=None)
@given(
    epsilon=st.floats(0.3, 20.0),
    sample_rate=st.floats(0.002, 0.2),
    steps=st.integers(1, 3000),
    spent_steps=st.integers(0, 500),
)
def test_planned_noise_never_overshoots_the_budget_with_history(
    epsilon: float, sample_rate: float, steps: int, spent_steps: int
) -> None:
    # Prepare: some earlier run already spent part of the budget
    budget = PrivacyBudget(epsilon=epsilon, delta=1e-5)
    history = [(4.0, sample_rate, spent_steps)] if spent_steps else []
    if epsilon_spent(history, delta=budget.delta) >= epsilon - 0.01:
        return
    # Execute
    try:
        sigma = plan_noise_multiplier(
            history=history, budget=budget, sample_rate=sample_rate, steps=steps
        )
    except BudgetExceeded:
        return
    # Assert
    total = epsilon_spent([*history, (sigma, sample_rate, steps)], delta=budget.delta)
    assert total <= epsilon


def test_max_steps_is_the_exact_cut_off() -> None:
    # Prepare
    budget = PrivacyBudget(epsilon=1.0, delta=1e-5)
    # Execute
    k = max_steps(history=[], budget=budget, noise_multiplier=1.0, sample_rate=0.05, upper=10_000)
    # Assert
    assert epsilon_spent([(1.0, 0.05, k)], delta=1e-5) <= 1.0
    assert epsilon_spent([(1.0, 0.05, k + 1)], delta=1e-5) > 1.0


def test_ledger_round_trips_history_across_loads(tmp_path: Path) -> None:
    # Prepare
    ledger = PrivacyLedger.load(tmp_path, "eta")
    # Execute
    ledger.record(noise_multiplier=1.2, sample_rate=0.01, steps=300, delta=1e-6)
    ledger.record(noise_multiplier=1.2, sample_rate=0.01, steps=200, delta=1e-6)
    reloaded = PrivacyLedger.load(tmp_path, "eta")
    # Assert
    assert reloaded.history == [(1.2, 0.01, 500)]
    assert reloaded.delta == 1e-6
    assert reloaded.spent() == pytest.approx(ledger.spent())
    assert (tmp_path / "privacy" / "eta-accountant.json").exists()


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda s: s.pop("accountant"), "`accountant`"),
        (lambda s: s["accountant"].pop("history"), "`history`"),
        (lambda s: s["accountant"].update(mechanism="prv"), "prv"),
        (lambda s: s["accountant"].update(history=[[1.0, 2.0, 3]]), "sample rate"),
        (lambda s: s["accountant"].update(history=[[1.0, 0.1, -3]]), "steps"),
        (lambda s: s.update(delta=2.0), "`delta`"),
    ],
)
def test_ledger_loading_names_the_malformed_key(tmp_path: Path, mutate, needle: str) -> None:
    # Prepare
    ledger = PrivacyLedger.load(tmp_path, "eta")
    ledger.record(noise_multiplier=1.0, sample_rate=0.1, steps=5, delta=1e-5)
    state = json.loads(ledger.path.read_text())
    mutate(state)
    ledger.path.write_text(json.dumps(state))
    # Execute
    with pytest.raises(ModelError) as caught:
        PrivacyLedger.load(tmp_path, "eta")
    # Assert
    assert isinstance(caught.value, ValueError)
    assert needle in str(caught.value)


def test_non_private_run_makes_spent_infinite_for_good(tmp_path: Path) -> None:
    ledger = PrivacyLedger.load(tmp_path, "stock")
    ledger.record_non_private()
    assert math.isinf(PrivacyLedger.load(tmp_path, "stock").spent(1e-5))
    assert PrivacyLedger.load(tmp_path, "stock").remaining(PrivacyBudget(8.0, 1e-5)) == 0.0


def test_ledger_refuses_a_different_delta_than_recorded(tmp_path: Path) -> None:
    ledger = PrivacyLedger.load(tmp_path, "eta")
    ledger.record(noise_multiplier=1.0, sample_rate=0.1, steps=5, delta=1e-5)
    with pytest.raises(ConfigError) as caught:
        ledger.resolve_delta(1e-6, fallback=1e-5)
    assert caught.value.name == "delta"
