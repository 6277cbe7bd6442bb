"""First-order leave-one-out values, their consistency check, and the quality awards."""

from __future__ import annotations

import numpy as np
import pytest
from flwr.common.secure_aggregation.quantization import dequantize, quantize
from hypothesis import given, settings
from hypothesis import strategies as st

from consortium.errors import PointsError
from consortium.points.rules import contribution_awards, quality_awards
from consortium.points.valuation import (
    QUALITY_SCALE,
    consistency_tolerance,
    first_order_loo,
    quality_scores,
    value_round,
)

MEMBERS = ["aa", "bb", "cc", "dd", "ee"]


def _world(seed: int, n: int = 4, d: int = 50) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    rng = np.random.default_rng(seed)
    updates = {m: rng.normal(size=d) for m in MEMBERS[:n]}
    weights = {m: float(rng.integers(1, 1000)) for m in MEMBERS[:n]}
    return updates, weights


def _average(
    updates: dict[str, np.ndarray], weights: dict[str, float], skip: str = ""
) -> np.ndarray:
    keep = [m for m in updates if m != skip]
    return sum(weights[m] * updates[m] for m in keep) / sum(weights[m] for m in keep)


@given(seed=st.integers(0, 10_000), n=st.integers(1, 5))
def test_first_order_loo_is_exact_for_a_linear_loss(seed: int, n: int) -> None:
    # For L(θ) = c·θ the first-order value is the exact leave-one-out gain.
    updates, weights = _world(seed, n)
    c = np.random.default_rng(seed + 1).normal(size=50)
    delta = _average(updates, weights)
    gains = first_order_loo(
        {m: float(c @ u) for m, u in updates.items()}, weights, aggregate=float(c @ delta)
    )
    for member in updates:
        without = _average(updates, weights, skip=member) if n > 1 else np.zeros(50)
        exact = float(c @ without) - float(c @ delta)  # L(θ_-i) - L(θ), θ_0 cancels
        assert gains[member] == pytest.approx(exact, rel=1e-9, abs=1e-9)


def test_first_order_loo_tracks_a_quadratic_loss_for_small_steps() -> None:
    # L(θ) = |θ - t|^2 / 2 at θ0 = 0: g = -t; steps of size 1e-3 leave an O(step^2) error.
    updates, weights = _world(3)
    t = np.random.default_rng(4).normal(size=50)
    step = {m: 1e-3 * u for m, u in updates.items()}
    g = -t
    loss = lambda theta: 0.5 * float(np.sum((theta - t) ** 2))  # noqa: E731
    delta = _average(step, weights)
    gains = first_order_loo({m: float(g @ u) for m, u in step.items()}, weights, float(g @ delta))
    for member in step:
        exact = loss(_average(step, weights, skip=member)) - loss(delta)
        assert gains[member] == pytest.approx(exact, rel=0.05)


def test_a_member_that_sat_out_gains_nothing() -> None:
    gains = first_order_loo({"aa": 5.0, "bb": -1.0}, {"aa": 0.0, "bb": 3.0}, aggregate=-1.0)
    assert gains["aa"] == 0.0
    assert gains["bb"] == 1.0  # the sole member: L(θ0) - L(θ) = -a


def test_quality_scores_are_parts_per_million_of_positive_gains() -> None:
    scores = quality_scores({"aa": 0.02, "bb": 0.06, "cc": -0.5, "dd": 0.0})
    assert scores == {"aa": 250_000, "bb": 750_000, "cc": 0, "dd": 0}
    assert quality_scores({"aa": -1.0}) == {"aa": 0}


def _secagg_average(
    updates: dict[str, np.ndarray], weights: dict[str, int], *, clip: float, q: int, mw: float
) -> tuple[np.ndarray, dict[str, float]]:
    """Flower's SecAgg+ arithmetic (without masks): quantised weight ratios and vectors."""
    total = np.zeros(next(iter(updates.values())).shape, dtype=np.int64)
    q_ratios: dict[str, float] = {}
    for m, u in updates.items():
        q_ratio = round(weights[m] / mw * q)
        q_ratios[m] = float(q_ratio)
        (vec,) = quantize([u * (q_ratio / q)], clip, q)
        total += vec.astype(np.int64)
    (summed,) = dequantize([total], clip, q)
    summed += -(len(updates) - 1) * clip
    return summed * (q / sum(q_ratios.values())), q_ratios


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 5))
def test_honest_projections_pass_under_secagg_quantisation(seed: int, n: int) -> None:
    # Prepare: updates within the clipping range, weights below max_weight, Flower's quantiser.
    rng = np.random.default_rng(seed)
    clip, q, mw = 0.5, 2**22, 1000.0
    updates = {m: rng.uniform(-clip, clip, size=20_000) for m in MEMBERS[:n]}
    examples = {m: int(rng.integers(1, 1000)) for m in MEMBERS[:n]}
    g = rng.normal(size=20_000) * rng.uniform(0.01, 10)
    # Execute
    delta, q_ratios = _secagg_average(updates, examples, clip=clip, q=q, mw=mw)
    tol = consistency_tolerance(
        [g], [delta], members=n, quantum=2 * clip / q, weight_sum=sum(q_ratios.values()) / q
    )
    honest = {m: float(g @ u) for m, u in updates.items()}
    verdict = value_round(
        projections=honest, weights=q_ratios, aggregate=float(g @ delta), tolerance=tol
    )
    # Assert: accepted, and far inside the bound's reach...
    assert verdict.status == "ok", (verdict.gap, tol)
    # ...while one member shading its projection by 3 tolerances (in the weighted sum) is caught
    liar = MEMBERS[0]
    total = sum(q_ratios.values())
    lied = honest | {liar: honest[liar] - 3 * tol * total / q_ratios[liar]}
    caught = value_round(
        projections=lied, weights=q_ratios, aggregate=float(g @ delta), tolerance=tol
    )
    assert caught.status == "inconsistent"
    assert caught.gains == {}


def test_a_missing_projection_makes_the_round_unverifiable() -> None:
    verdict = value_round(
        projections={"aa": 1.0}, weights={"aa": 1.0, "bb": 1.0}, aggregate=1.0, tolerance=1.0
    )
    assert verdict.status == "unverifiable"
    assert value_round(projections={}, weights={"aa": 1.0}, aggregate=0.0, tolerance=0.0,
                       gradient_available=False).status == "no-gradient"  # fmt: skip
    nan = value_round(projections={"aa": float("nan")}, weights={"aa": 1.0}, aggregate=0.0,
                      tolerance=1.0)  # fmt: skip
    assert nan.status == "inconsistent"


accounts = st.sampled_from([f"member:{m}" for m in ("aa", "bb", "cc", "dd", "ee", "ff")])


@given(
    quality=st.dictionaries(accounts, st.integers(0, QUALITY_SCALE)),
    examples=st.dictionaries(accounts, st.integers(0, 10_000)),
    rate=st.integers(0, 5),
    cap=st.integers(0, 20_000),
)
def test_quality_awards_never_mint_more_than_the_examples_rule(
    quality: dict[str, int], examples: dict[str, int], rate: int, cap: int
) -> None:
    accepted = list(examples)
    awards = quality_awards(
        quality=quality, examples=examples, accepted=accepted, points_per_example=rate, cap=cap
    )
    by_examples = contribution_awards(
        rule="examples", scores=examples, accepted=accepted, points_per_example=rate, cap=cap
    )
    assert sum(awards.values()) <= sum(by_examples.values())
    assert all(0 < a <= cap for a in awards.values())
    assert set(awards) <= {a for a, q in quality.items() if q > 0 and a in examples}
    # Deterministic whatever the order of the inputs.
    again = quality_awards(
        quality=dict(reversed(list(quality.items()))),
        examples=dict(reversed(list(examples.items()))),
        accepted=list(reversed(accepted)),
        points_per_example=rate,
        cap=cap,
    )
    assert again == awards


def test_quality_awards_split_the_pot_exactly_when_no_cap_binds() -> None:
    awards = quality_awards(
        quality={"member:aa": 1, "member:bb": 1, "member:cc": 1},
        examples={"member:aa": 10, "member:bb": 0, "member:cc": 0},
        accepted=["member:aa", "member:bb", "member:cc"],
        points_per_example=1,
        cap=100,
    )
    assert awards == {"member:aa": 4, "member:bb": 3, "member:cc": 3}  # largest remainder


def test_leave_one_out_needs_quality_scores_and_valid_amounts() -> None:
    with pytest.raises(PointsError, match="no-quality"):
        contribution_awards(rule="leave-one-out", scores={"member:aa": 3}, accepted=["member:aa"],
                            points_per_example=1, cap=10)  # fmt: skip
    with pytest.raises(PointsError, match="bad-amount"):
        quality_awards(quality={"member:aa": -1}, examples={"member:aa": 3},
                       accepted=["member:aa"], points_per_example=1, cap=10)  # fmt: skip
