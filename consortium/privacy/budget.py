"""Pure ε bookkeeping: the member's budget and the RDP arithmetic on an accountant history.

This module holds no state and does no I/O (the persistent side is :mod:`consortium.privacy.ledger`,
the Opacus wrapping :mod:`consortium.privacy.engine`), following Opacus's split between
``accountants/rdp.py`` and ``accountants/analysis/rdp.py``.

The accountant is always **RDP** (passed explicitly, never Opacus's default). RDP composes a
heterogeneous history exactly (a sum of per-order curves), is deterministic and gives an ε that
can only grow when steps are appended, which is the invariant the consortium promises ("ε never
decreases, summed over every round"). PRV would report a somewhat tighter ε, but it is a numerical
approximation whose error window moves with the history, so a reported ε could wobble across rounds.

Examples
--------
>>> budget = PrivacyBudget(epsilon=8.0, delta=1e-5)
>>> sigma = plan_noise_multiplier(history=[], budget=budget, sample_rate=0.01, steps=500)
>>> epsilon_spent([(sigma, 0.01, 500)], delta=1e-5) <= 8.0
True
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from opacus.accountants import RDPAccountant
from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent
from opacus.accountants.utils import get_noise_multiplier

from consortium.errors import BudgetExceeded, ConfigError

ACCOUNTANT = "rdp"
"""The accounting mechanism the kit passes to Opacus (see the module docstring for why)."""

MAX_NOISE_MULTIPLIER = 64.0
"""Above this noise multiplier the update is noise only; planning refuses instead."""

HistoryEntry = tuple[float, float, int]
"""One accountant history entry: ``(noise_multiplier, sample_rate, steps)`` as Opacus stores it."""


@dataclass(frozen=True)
class PrivacyBudget:
    """A member's total (ε, δ) budget for one model, summed over every run and round.

    ``epsilon = math.inf`` means no differential privacy; it must be asked for explicitly.

    Raises
    ------
    ConfigError
        ``epsilon`` when ε ≤ 0 or NaN, ``delta`` when δ is not in (0, 1).
    """

    epsilon: float
    delta: float

    def __post_init__(self) -> None:
        if math.isnan(self.epsilon) or self.epsilon <= 0:
            raise ConfigError("epsilon", f"must be > 0 (or inf for no privacy), got {self.epsilon}")
        if math.isnan(self.delta) or not 0.0 < self.delta < 1.0:
            raise ConfigError("delta", f"must be strictly between 0 and 1, got {self.delta}")

    @property
    def unlimited(self) -> bool:
        """Whether this budget disables differential privacy (ε = ∞)."""
        return math.isinf(self.epsilon)

    def check_rows(self, n_rows: int) -> None:
        """Check that δ < 1/n for a training set of ``n_rows`` rows.

        Raises
        ------
        ConfigError
            ``delta`` when δ ≥ 1/n (δ that large allows leaking whole records).
        """
        if n_rows <= 0:
            raise ConfigError("data", "no training rows")
        if not self.unlimited and self.delta >= 1.0 / n_rows:
            raise ConfigError(
                "delta",
                f"must be < 1/n = {1.0 / n_rows:.3g} for n = {n_rows} rows, got {self.delta}",
            )


def default_delta(n_rows: int) -> float:
    """Return the default δ for ``n_rows`` training rows: ``min(1e-5, 1 / (10 n))``."""
    return min(1e-5, 1.0 / (10.0 * max(n_rows, 1)))


def _orders() -> list[float]:
    return list(RDPAccountant.DEFAULT_ALPHAS)


@functools.lru_cache(maxsize=4096)
def _step_curve(rate: float, sigma: float) -> tuple[float, ...]:
    """RDP of one step at every order (cached: the same steps recur round after round)."""
    return tuple(compute_rdp(q=rate, noise_multiplier=sigma, steps=1, orders=_orders()))


def _curve(rate: float, sigma: float, steps: int) -> np.ndarray:
    # compute_rdp is linear in the steps (it returns steps * rdp_of_one_step).
    return np.asarray(_step_curve(float(rate), float(sigma))) * int(steps)


def rdp_curve(history: Sequence[HistoryEntry]) -> np.ndarray:
    """Return the summed RDP curve of ``history`` over the accountant's default orders.

    RDP is additive over steps and mechanisms, so ``rdp_curve(h) + k * rdp_curve([(s, q, 1)])``
    is the curve after ``k`` more steps: the engine refreshes ε without recomputing the history.
    """
    total = np.zeros(len(_orders()))
    for sigma, rate, steps in history:
        if steps:
            total = total + _curve(rate, sigma, steps)
    return total


def epsilon_from_rdp(rdp: np.ndarray, delta: float) -> float:
    """Return ε at ``delta`` of an RDP curve from :func:`rdp_curve`."""
    if not np.any(rdp):
        return 0.0
    with warnings.catch_warnings():  # "optimal order is the largest alpha" only means looser
        warnings.simplefilter("ignore", UserWarning)
        eps, _ = get_privacy_spent(orders=_orders(), rdp=rdp, delta=delta)
    return float(eps)


def epsilon_spent(history: Sequence[HistoryEntry], *, delta: float) -> float:
    """Return the ε that an RDP accountant with this history has spent at ``delta``.

    Same numbers as ``RDPAccountant(history).get_epsilon(delta)`` (same orders, same analysis).
    """
    return epsilon_from_rdp(rdp_curve(history), delta)


def plan_noise_multiplier(
    *,
    history: Sequence[HistoryEntry],
    budget: PrivacyBudget,
    sample_rate: float,
    steps: int,
    tolerance: float = 0.05,
) -> float:
    """Return (within 0.5 %) the smallest noise multiplier keeping the whole history in budget.

    The first guess is Opacus's :func:`get_noise_multiplier` against the *remaining* ε
    (budget − spent); it is then refined by bisection against the full history, because RDP
    composition usually leaves more room than ε-subtraction, and ε-subtraction is not a bound
    in general. RDP is linear in the steps, so the history's curve is computed once.

    Raises
    ------
    BudgetExceeded
        When even :data:`MAX_NOISE_MULTIPLIER` would take the history past the budget.
    ConfigError
        ``budget`` when the budget is unlimited (there is nothing to plan).
    """
    if budget.unlimited:
        raise ConfigError("budget", "ε = inf: no noise multiplier to plan")
    past = rdp_curve(history)
    spent = epsilon_from_rdp(past, budget.delta)
    remaining = budget.epsilon - spent
    if remaining <= 0.01:
        raise BudgetExceeded(spent, budget.epsilon)

    def fits(sigma: float) -> bool:
        run = _curve(sample_rate, sigma, steps)
        return epsilon_from_rdp(past + run, budget.delta) <= budget.epsilon

    if not fits(MAX_NOISE_MULTIPLIER):
        raise BudgetExceeded(spent, budget.epsilon)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            guess = float(
                get_noise_multiplier(
                    target_epsilon=remaining,
                    target_delta=budget.delta,
                    sample_rate=sample_rate,
                    steps=steps,
                    accountant=ACCOUNTANT,
                    epsilon_tolerance=tolerance,
                )
            )
    except ValueError:
        guess = MAX_NOISE_MULTIPLIER
    high = min(guess, MAX_NOISE_MULTIPLIER)
    while not fits(high):
        high = min(2.0 * high, MAX_NOISE_MULTIPLIER)
    low = high / 2.0
    while low > 0.05 and fits(low):
        high, low = low, low / 2.0
    if fits(low):
        return low
    while high - low > 5e-3 * high:
        mid = 0.5 * (low + high)
        if fits(mid):
            high = mid
        else:
            low = mid
    return high


def max_steps(
    *,
    history: Sequence[HistoryEntry],
    budget: PrivacyBudget,
    noise_multiplier: float,
    sample_rate: float,
    upper: int,
) -> int:
    """Return the most steps (≤ ``upper``) that can be appended without exceeding ``budget``.

    ε is monotone in the number of steps, so a bisection finds the exact cut-off.
    """
    if budget.unlimited:
        return upper
    past = rdp_curve(history)
    one = compute_rdp(q=sample_rate, noise_multiplier=noise_multiplier, steps=1, orders=_orders())

    def fits(k: int) -> bool:
        return k == 0 or epsilon_from_rdp(past + k * one, budget.delta) <= budget.epsilon

    if fits(upper):
        return upper
    low, high = 0, upper  # fits(low) is True, fits(high) is False
    while high - low > 1:
        mid = (low + high) // 2
        if fits(mid):
            low = mid
        else:
            high = mid
    return low


def round_epsilon_cap(
    *, budget: float, spent: float, server_round: int, rounds: int, max_per_round: float
) -> float:
    """Return the cumulative ε a member may have spent after ``server_round``.

    The member spreads its total ``budget`` evenly over the run (``budget * r / R``) and never
    spends more than the board's ``max_per_round`` in one round, nor more than its budget.

    Examples
    --------
    >>> round_epsilon_cap(budget=8.0, spent=0.0, server_round=1, rounds=4, max_per_round=5.0)
    2.0
    >>> round_epsilon_cap(budget=8.0, spent=2.0, server_round=4, rounds=4, max_per_round=1.5)
    3.5
    """
    if rounds < 1 or not 1 <= server_round:
        raise ConfigError("rounds", "server_round and rounds must be >= 1")
    schedule = budget * min(server_round, rounds) / rounds
    return min(budget, schedule, spent + max_per_round)
