"""Pure governance rules: Governor lifecycle, late quorum, quorum/majority, capped power."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consortium.errors import GovernanceError
from consortium.governance.rules import (
    BPS,
    ProposalState,
    Support,
    Tally,
    Timeline,
    cap_power,
    eta_for,
    is_executable,
    quorum,
    quorum_reached,
    schedule,
    state_of,
    tally_votes,
    vote_succeeded,
    voting_powers,
)

T = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
FEW = settings(max_examples=150, deadline=None)


def _timeline(**overrides: object) -> Timeline:
    values: dict[str, object] = {
        "vote_start": T,
        "vote_end": T + HOUR,
        "quorum_bps": 4000,
        "late_quorum_extension_s": 600,
    }
    values.update(overrides)
    return Timeline(**values)  # type: ignore[arg-type]


def test_states_follow_the_governor_timeline() -> None:
    # Prepare
    passing = Tally(for_power=300, against_power=100, abstain_power=200)
    base = _timeline()
    queued = _timeline(eta=T + 3 * HOUR, grace_period_s=3600)
    # Execute
    seen = {
        "at vote_start": state_of(base, now=T, tally=passing, total_power=1000),
        "just after": state_of(base, now=T + timedelta(seconds=1), tally=passing, total_power=1000),
        "at deadline": state_of(base, now=T + HOUR, tally=passing, total_power=1000),
        "after": state_of(base, now=T + HOUR + timedelta(seconds=1), tally=passing,
                          total_power=1000),
        "queued": state_of(queued, now=T + 2 * HOUR, tally=passing, total_power=1000),
        "grace over": state_of(queued, now=T + 4 * HOUR, tally=passing, total_power=1000),
        "executed": state_of(_timeline(executed=True), now=T, tally=passing, total_power=1000),
        "canceled": state_of(_timeline(canceled=True), now=T, tally=passing, total_power=1000),
    }  # fmt: skip
    # Assert
    assert seen == {
        "at vote_start": ProposalState.PENDING,
        "just after": ProposalState.ACTIVE,
        "at deadline": ProposalState.ACTIVE,
        "after": ProposalState.SUCCEEDED,
        "queued": ProposalState.QUEUED,
        "grace over": ProposalState.EXPIRED,
        "executed": ProposalState.EXECUTED,
        "canceled": ProposalState.CANCELED,
    }


@pytest.mark.parametrize(
    ("tally", "expected"),
    [
        (Tally(399, 0, 0), ProposalState.DEFEATED),  # quorum 400 missed by one
        (Tally(200, 0, 200), ProposalState.SUCCEEDED),  # abstain counts toward quorum
        (Tally(300, 300, 100), ProposalState.DEFEATED),  # a tie is no majority
        (Tally(0, 0, 1000), ProposalState.DEFEATED),  # quorum without any "for"
        (Tally(300, 299, 100), ProposalState.SUCCEEDED),
    ],
)
def test_quorum_counts_for_and_abstain_and_majority_is_strict(
    tally: Tally, expected: ProposalState
) -> None:
    # Prepare
    after = T + 2 * HOUR
    # Execute
    state = state_of(_timeline(), now=after, tally=tally, total_power=1000)
    # Assert
    assert state is expected


def test_late_quorum_moves_the_deadline_to_quorum_time_plus_extension() -> None:
    # Prepare: quorum first reached 5 minutes before the end, extension 10 minutes
    reached = T + HOUR - timedelta(minutes=5)
    late = _timeline(quorum_reached_at=reached)
    early = _timeline(quorum_reached_at=T + timedelta(minutes=5))
    tally = Tally(500, 0, 0)
    # Execute
    deadline = late.deadline()
    at_old_end_plus_1 = state_of(late, now=T + HOUR + timedelta(minutes=1), tally=tally,
                                 total_power=1000)  # fmt: skip
    after_extension = state_of(late, now=reached + timedelta(minutes=10, seconds=1), tally=tally,
                               total_power=1000)  # fmt: skip
    # Assert
    assert deadline == reached + timedelta(minutes=10)
    assert at_old_end_plus_1 is ProposalState.ACTIVE
    assert after_extension is ProposalState.SUCCEEDED
    assert early.deadline() == T + HOUR


def test_executable_only_when_queued_and_timelock_passed() -> None:
    # Prepare
    eta = eta_for(queued_at=T + 2 * HOUR, timelock_s=3600)
    queued = _timeline(eta=eta)
    tally = Tally(500, 0, 0)
    # Execute
    before = is_executable(queued, now=eta - timedelta(seconds=1), tally=tally, total_power=1000)
    at_eta = is_executable(queued, now=eta, tally=tally, total_power=1000)
    unqueued = is_executable(_timeline(), now=eta, tally=tally, total_power=1000)
    # Assert
    assert (before, at_eta, unqueued) == (False, True, False)


def test_schedule_and_cap_refuse_bad_parameters() -> None:
    # Execute / Assert
    with pytest.raises(GovernanceError) as period:
        schedule(created_at=T, voting_delay_s=0, voting_period_s=0)
    with pytest.raises(GovernanceError) as cap:
        cap_power(10, 100, BPS + 1)
    with pytest.raises(GovernanceError) as over:
        cap_power(101, 100, 5000)
    with pytest.raises(GovernanceError) as floaty:
        cap_power(1.5, 100, 5000)  # type: ignore[arg-type]
    assert (period.value.subject, period.value.code) == ("voting_period_s", "out-of-range")
    assert (cap.value.subject, cap.value.code) == ("cap_bps", "out-of-range")
    assert over.value.subject == "total"
    assert floaty.value.code == "not-an-integer"


balances_st = st.dictionaries(
    st.from_regex(r"member:[a-z]{1,6}", fullmatch=True),
    st.integers(min_value=0, max_value=10**12),
    max_size=12,
)


@FEW
@given(balances=balances_st, cap_bps=st.integers(min_value=0, max_value=BPS))
def test_capped_power_never_exceeds_balance_nor_cap(balances: dict[str, int], cap_bps: int) -> None:
    # Execute
    powers = voting_powers(balances, cap_bps=cap_bps)
    # Assert
    total = sum(balances.values())
    assert set(powers) == set(balances)
    for holder, power in powers.items():
        assert type(power) is int
        assert 0 <= power <= balances[holder]
        assert power * BPS <= total * cap_bps
    assert sum(powers.values()) <= total
    if cap_bps == BPS:
        assert powers == balances


@FEW
@given(
    balance=st.integers(min_value=0, max_value=10**9),
    extra=st.integers(min_value=0, max_value=10**9),
    rest=st.integers(min_value=0, max_value=10**9),
    cap_bps=st.integers(min_value=0, max_value=BPS),
)
def test_more_points_never_mean_less_power(
    balance: int, extra: int, rest: int, cap_bps: int
) -> None:
    # Execute
    before = cap_power(balance, balance + rest, cap_bps)
    after = cap_power(balance + extra, balance + extra + rest, cap_bps)
    # Assert
    assert after >= before


votes_st = st.lists(
    st.tuples(st.sampled_from(list(Support)), st.integers(min_value=0, max_value=10**9)),
    max_size=30,
)


@FEW
@given(votes=votes_st, data=st.data())
def test_tally_is_exact_and_order_free(
    votes: list[tuple[Support, int]], data: st.DataObject
) -> None:
    # Prepare
    shuffled = data.draw(st.permutations(votes))
    # Execute
    tally = tally_votes(votes)
    # Assert
    assert tally == tally_votes(shuffled)
    assert tally.cast == sum(power for _, power in votes)
    for support, field in [(Support.FOR, "for_power"), (Support.AGAINST, "against_power"),
                           (Support.ABSTAIN, "abstain_power")]:  # fmt: skip
        assert getattr(tally, field) == sum(p for s, p in votes if s is support)


@FEW
@given(
    votes=votes_st,
    total=st.integers(min_value=0, max_value=10**10),
    quorum_bps=st.integers(min_value=0, max_value=BPS),
    more=st.integers(min_value=0, max_value=10**9),
)
def test_quorum_once_reached_stays_reached(
    votes: list[tuple[Support, int]], total: int, quorum_bps: int, more: int
) -> None:
    # Prepare
    tally = tally_votes(votes)
    # Execute
    reached = quorum_reached(tally, total_power=total, quorum_bps=quorum_bps)
    later = [quorum_reached(tally.add(s, more), total_power=total, quorum_bps=quorum_bps)
             for s in (Support.FOR, Support.ABSTAIN)]  # fmt: skip
    # Assert
    assert quorum(total, quorum_bps=quorum_bps) * BPS <= total * quorum_bps
    if reached:
        assert all(later)
    assert vote_succeeded(tally) == (tally.for_power > tally.against_power)


_ORDER = {
    ProposalState.PENDING: 0,
    ProposalState.ACTIVE: 1,
    ProposalState.DEFEATED: 2,
    ProposalState.SUCCEEDED: 2,
    ProposalState.QUEUED: 3,
    ProposalState.EXPIRED: 4,
}


@FEW
@given(
    offsets=st.lists(st.integers(min_value=-7200, max_value=10**6), min_size=2, max_size=10),
    reached_after=st.none() | st.integers(min_value=1, max_value=3600),
    eta_after=st.none() | st.integers(min_value=3600, max_value=20000),
    tally=st.builds(Tally, st.integers(0, 1000), st.integers(0, 1000), st.integers(0, 1000)),
)
def test_states_only_move_forward_in_time(
    offsets: list[int], reached_after: int | None, eta_after: int | None, tally: Tally
) -> None:
    # Prepare
    timeline = _timeline(
        quorum_reached_at=None if reached_after is None else T + timedelta(seconds=reached_after),
        eta=None if eta_after is None else T + HOUR + timedelta(seconds=eta_after),
        grace_period_s=7200,
    )
    # Execute
    states = [
        state_of(timeline, now=T + timedelta(seconds=s), tally=tally, total_power=1000)
        for s in sorted(offsets)
    ]
    # Assert
    ranks = [_ORDER[s] for s in states]
    assert ranks == sorted(ranks)
    decided = (ProposalState.DEFEATED, ProposalState.SUCCEEDED, ProposalState.QUEUED,
               ProposalState.EXPIRED)  # fmt: skip
    outcomes = {s for s in states if s in decided}
    assert not (ProposalState.DEFEATED in outcomes and len(outcomes) > 1)
