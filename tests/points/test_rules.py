"""Pure points rules: the exact revenue split, the contribution rule, accounts, ledger replay."""

from __future__ import annotations

import doctest
import importlib
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consortium.errors import PointsError
from consortium.ledger.entry import sign_entry
from consortium.ledger.signing import Signer
from consortium.points.rules import (
    TREASURY,
    account_kind,
    contribution_awards,
    contribution_points,
    journal_lines,
    replay_balances,
    split_revenue,
    split_weights,
)

ACCOUNTS = st.sampled_from([f"member:m{i:02d}" for i in range(20)] + [TREASURY])
WEIGHTS = st.dictionaries(ACCOUNTS, st.integers(0, 10**6), max_size=12)
FEES = st.integers(0, 10**9)
BPS = st.integers(0, 10_000)


@settings(max_examples=200, deadline=None)
@given(fee=FEES, weights=WEIGHTS, bps=BPS)
def test_split_parts_sum_to_the_fee_and_each_is_within_one_of_its_exact_share(
    fee: int, weights: dict[str, int], bps: int
) -> None:
    # Execute
    parts = split_revenue(fee, weights=weights, treasury_share_bps=bps)
    # Assert
    assert sum(parts.values()) == fee
    assert all(isinstance(v, int) and v > 0 for v in parts.values())
    positive = {a: w for a, w in weights.items() if w > 0}
    treasury = fee * bps // 10_000
    if not positive:
        assert parts == ({TREASURY: fee} if fee else {})
        return
    rest, total = fee - treasury, sum(positive.values())
    if TREASURY not in positive:
        assert parts.get(TREASURY, 0) == treasury
    for account, weight in positive.items():
        share = parts.get(account, 0) - (treasury if account == TREASURY else 0)
        # |share - rest*w/W| < 1, in integers: -W < share*W - rest*w < W
        assert -total < share * total - rest * weight < total
    assert set(parts) <= set(positive) | {TREASURY}


@settings(max_examples=100, deadline=None)
@given(fee=FEES, weights=WEIGHTS, bps=BPS, data=st.data())
def test_split_is_deterministic_and_gives_spare_points_to_the_largest_remainders(
    fee: int, weights: dict[str, int], bps: int, data: st.DataObject
) -> None:
    # Prepare: the same weights in another insertion order
    shuffled = dict(data.draw(st.permutations(list(weights.items()))))
    # Execute
    parts = split_revenue(fee, weights=weights, treasury_share_bps=bps)
    again = split_revenue(fee, weights=shuffled, treasury_share_bps=bps)
    # Assert
    assert parts == again
    positive = {a: w for a, w in weights.items() if w > 0}
    if not positive:
        return
    rest, total = fee - fee * bps // 10_000, sum(positive.values())
    base = {TREASURY: fee * bps // 10_000}
    rounded_up = {
        a for a, w in positive.items() if parts.get(a, 0) - base.get(a, 0) > rest * w // total
    }
    assert len(rounded_up) < len(positive)
    for up in rounded_up:
        for down in set(positive) - rounded_up:
            key_up = (-(rest * positive[up] % total), up)
            key_down = (-(rest * positive[down] % total), down)
            assert key_up < key_down


def test_split_ties_go_to_the_smaller_account_id() -> None:
    parts = split_revenue(2, weights={"member:cc": 1, "member:aa": 1, "member:bb": 1},
                          treasury_share_bps=0)  # fmt: skip
    assert parts == {"member:aa": 1, "member:bb": 1}


def test_split_examples() -> None:
    assert split_revenue(10, weights={"member:aa": 1}, treasury_share_bps=1000) == {
        "member:aa": 9,
        TREASURY: 1,
    }
    assert split_revenue(10, weights={"member:aa": 0}, treasury_share_bps=1000) == {TREASURY: 10}
    assert split_revenue(10, weights={"member:aa": 5}, treasury_share_bps=10_000) == {TREASURY: 10}
    assert split_revenue(0, weights={"member:aa": 5}, treasury_share_bps=1000) == {}


@pytest.mark.parametrize(
    ("fee", "weights", "bps", "code"),
    [
        (10.0, {}, 1000, "bad-amount"),
        (-1, {}, 1000, "bad-amount"),
        (10, {"member:aa": -1}, 1000, "bad-amount"),
        (10, {"member:aa": 1.5}, 1000, "bad-amount"),
        (10, {"alice": 1}, 1000, "bad-account"),
        (10, {}, 10_001, "bad-share"),
        (10, {}, True, "bad-share"),
    ],
)
def test_split_refuses_malformed_input(fee: object, weights: dict[str, object], bps: object,
                                       code: str) -> None:  # fmt: skip
    with pytest.raises(PointsError) as caught:
        split_revenue(fee, weights=weights, treasury_share_bps=bps)  # type: ignore[arg-type]
    assert caught.value.code == code


def test_split_weights_by_rule() -> None:
    contributions = {"member:bb": 30, "member:aa": 10, "member:cc": 0}
    assert split_weights(rule="pro-rata-contribution", contributions=contributions) == {
        "member:aa": 10,
        "member:bb": 30,
    }
    assert split_weights(rule="equal", contributions=contributions) == {
        "member:aa": 1,
        "member:bb": 1,
    }
    with pytest.raises(PointsError, match="unknown-rule"):
        split_weights(rule="winner-takes-all", contributions=contributions)


@settings(max_examples=100, deadline=None)
@given(examples=st.integers(0, 10**6), rate=st.integers(0, 100), cap=st.integers(0, 10**6))
def test_contribution_points_are_examples_times_rate_capped(examples: int, rate: int,
                                                            cap: int) -> None:  # fmt: skip
    points = contribution_points(examples=examples, points_per_example=rate, cap=cap)
    assert points == min(examples * rate, cap)
    assert 0 <= points <= cap


def test_rejected_or_dropped_members_earn_nothing() -> None:
    # Prepare: gamma's update was rejected, delta dropped out (0 examples signed)
    scores = {"member:alpha": 1200, "member:beta": 9000, "member:gamma": 800, "member:delta": 0}
    # Execute
    awards = contribution_awards(rule="examples", scores=scores,
                                 accepted=["member:alpha", "member:beta", "member:delta"],
                                 points_per_example=2, cap=5000)  # fmt: skip
    # Assert
    assert awards == {"member:alpha": 2400, "member:beta": 5000}


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"rule": "shapley"}, "unknown-rule"),
        ({"scores": {"cargo:" + "a" * 64: 5}}, "bad-account"),
        ({"scores": {"member:aa": -5}}, "bad-amount"),
        ({"points_per_example": 0.5}, "bad-amount"),
    ],
)
def test_contribution_awards_refuse_malformed_input(kwargs: dict[str, object], code: str) -> None:
    args: dict[str, object] = {"rule": "examples", "scores": {"member:aa": 5},
                               "accepted": ["member:aa"], "points_per_example": 1,
                               "cap": 10} | kwargs  # fmt: skip
    with pytest.raises(PointsError) as caught:
        contribution_awards(**args)  # type: ignore[arg-type]
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("account", "kind"),
    [("member:meridian-line", "member"), ("cargo:" + "0f" * 32, "cargo"), ("treasury", "treasury")],
)
def test_valid_accounts(account: str, kind: str) -> None:
    assert account_kind(account) == kind


@pytest.mark.parametrize(
    "account",
    ["mint", "burn", "member:", "member:x", "member:Meridian", "member:a b", "cargo:abc",
     "cargo:" + "0F" * 32, "alice@example.com", "", "treasury "],
)  # fmt: skip
def test_invalid_accounts_are_refused(account: str) -> None:
    with pytest.raises(PointsError) as caught:
        account_kind(account)
    assert caught.value.code == "bad-account"


def test_every_points_entry_balances_to_zero() -> None:
    assert journal_lines("points-redeemed", {"account": "treasury", "amount": 4}) == [
        ("treasury", -4),
        ("burn", 4),
    ]
    settled = journal_lines(
        "query-settled",
        {
            "payer": "member:aa",
            "parts": [{"account": "member:aa", "amount": 2}, {"account": "treasury", "amount": 3}],
        },
    )
    assert settled == [("member:aa", -5), ("member:aa", 2), ("treasury", 3)]
    assert sum(d for _, d in settled) == 0
    with pytest.raises(PointsError, match="malformed-entry"):
        journal_lines("query-settled", {"payer": "member:aa"})


def test_replay_refuses_a_forged_log_that_overdraws_an_account() -> None:
    # Prepare: a correctly signed but impossible sequence (pay before any deposit)
    signer = Signer.generate()
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    forged = [
        sign_entry(seq=0, moment=moment, kind="points-minted",
                   payload={"account": "member:aa", "amount": 5}, signer=signer),
        sign_entry(seq=1, moment=moment, kind="query-settled",
                   payload={"payer": "member:aa", "amount": 6,
                            "parts": [{"account": "treasury", "amount": 6}]}, signer=signer),
    ]  # fmt: skip
    # Execute / Assert
    assert replay_balances(forged[:1]).balances == {"member:aa": 5}
    with pytest.raises(PointsError) as caught:
        replay_balances(forged)
    assert (caught.value.subject, caught.value.code) == ("member:aa", "negative-balance")


@pytest.mark.parametrize("module_name", ["accounts", "awards", "revenue", "replay", "minting"])
def test_docstring_examples_run(module_name: str) -> None:
    module = importlib.import_module(f"consortium.points.{module_name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
