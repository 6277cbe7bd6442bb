"""Pure governance rules: proposal lifecycle, quorum, majority, capped voting power, tally.

The lifecycle follows OpenZeppelin's ``Governor`` with timestamps as the clock:

* ``Pending`` while ``now <= vote_start``; ``Active`` while ``vote_start < now <= deadline``;
* after the deadline ``Defeated`` unless the quorum was reached and ``for > against``
  (``GovernorCountingSimple``: the quorum counts ``for`` and ``abstain``), else ``Succeeded``;
* ``Queued`` once queued (the timelock's ``eta``); ``Expired`` when not executed within the
  grace period after ``eta`` (``GovernorTimelockCompound``); ``Executed`` and ``Canceled`` win;
* late quorum (``GovernorPreventLateQuorum``): when a vote first makes the quorum reached at time
  ``t``, the deadline becomes ``max(vote_end, t + late_quorum_extension_s)``.

Every amount is a Python ``int``; basis points (``bps``) are out of :data:`BPS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from consortium.errors import GovernanceError

BPS = 10_000
GRACE_PERIOD_S = 14 * 24 * 3600  # Compound's GRACE_PERIOD: a queued proposal expires after it


class ProposalState(StrEnum):
    """Where a proposal is in its lifecycle (OpenZeppelin ``IGovernor.ProposalState``)."""

    PENDING = "pending"
    ACTIVE = "active"
    CANCELED = "canceled"
    DEFEATED = "defeated"
    SUCCEEDED = "succeeded"
    QUEUED = "queued"
    EXPIRED = "expired"
    EXECUTED = "executed"


class Support(StrEnum):
    """A vote's choice (the ``support`` of ``vote.v1``)."""

    FOR = "for"
    AGAINST = "against"
    ABSTAIN = "abstain"


class ProposalKind(StrEnum):
    """What a proposal changes when executed."""

    FEES = "fees"
    REVENUE_SPLIT = "revenue-split"
    PRIVACY_POLICY = "privacy-policy"
    CONTRIBUTION_RULE = "contribution-rule"
    GOVERNANCE_RULES = "governance-rules"
    ADMIT_MEMBER = "admit-member"
    REMOVE_MEMBER = "remove-member"
    FEATURE_REQUEST = "feature-request"
    APPOINT_TREASURER = "appoint-treasurer"
    ON_TIME_TOLERANCE = "on-time-tolerance"


POLICY_KINDS = frozenset(
    {
        ProposalKind.FEES,
        ProposalKind.REVENUE_SPLIT,
        ProposalKind.PRIVACY_POLICY,
        ProposalKind.CONTRIBUTION_RULE,
        ProposalKind.GOVERNANCE_RULES,
        ProposalKind.ON_TIME_TOLERANCE,
    }
)


def _check_int(name: str, value: object, *, low: int = 0, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise GovernanceError(name, code="not-an-integer", reason=f"must be an int, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise GovernanceError(name, code="out-of-range", reason=f"{value} is not in {bound}")
    return value


@dataclass(frozen=True)
class Tally:
    """Voting power cast so far, per choice (ints)."""

    for_power: int = 0
    against_power: int = 0
    abstain_power: int = 0

    @property
    def cast(self) -> int:
        """All power cast, whatever the choice."""
        return self.for_power + self.against_power + self.abstain_power

    def add(self, support: Support, power: int) -> Tally:
        """Return the tally with one more vote of ``power`` for ``support``.

        Examples
        --------
        >>> Tally().add(Support.FOR, 7).add(Support.ABSTAIN, 3)
        Tally(for_power=7, against_power=0, abstain_power=3)
        """
        _check_int("power", power)
        match Support(support):
            case Support.FOR:
                return Tally(self.for_power + power, self.against_power, self.abstain_power)
            case Support.AGAINST:
                return Tally(self.for_power, self.against_power + power, self.abstain_power)
            case Support.ABSTAIN:
                return Tally(self.for_power, self.against_power, self.abstain_power + power)
        raise AssertionError("unreachable")  # pragma: no cover


def tally_votes(votes: Iterable[tuple[Support, int]]) -> Tally:
    """Sum ``(support, power)`` pairs into a :class:`Tally`.

    Examples
    --------
    >>> tally_votes([(Support.FOR, 5), (Support.AGAINST, 2), (Support.FOR, 1)]).for_power
    6
    """
    tally = Tally()
    for support, power in votes:
        tally = tally.add(support, power)
    return tally


def quorum(total_power: int, *, quorum_bps: int) -> int:
    """Return the power (``for`` + ``abstain``) a proposal needs: ``floor(total * bps / 10000)``.

    Examples
    --------
    >>> quorum(1_001, quorum_bps=400)
    40
    """
    _check_int("total_power", total_power)
    _check_int("quorum_bps", quorum_bps, high=BPS)
    return total_power * quorum_bps // BPS


def quorum_reached(tally: Tally, *, total_power: int, quorum_bps: int) -> bool:
    """Whether ``for + abstain`` reaches the quorum (``GovernorCountingSimple._quorumReached``).

    Examples
    --------
    >>> quorum_reached(Tally(30, 50, 10), total_power=1000, quorum_bps=400)
    True
    """
    return quorum(total_power, quorum_bps=quorum_bps) <= tally.for_power + tally.abstain_power


def vote_succeeded(tally: Tally) -> bool:
    """Strict majority of the cast ``for``/``against`` power (abstentions do not count).

    Examples
    --------
    >>> vote_succeeded(Tally(5, 5, 100)), vote_succeeded(Tally(6, 5, 0))
    (False, True)
    """
    return tally.for_power > tally.against_power


def cap_power(balance: int, total: int, cap_bps: int) -> int:
    """Return a holder's voting power: its balance capped at ``floor(total * cap_bps / 10000)``.

    Parameters
    ----------
    balance
        The holder's point balance at the snapshot.
    total
        The total balance of every eligible holder at the snapshot.
    cap_bps
        The board's cap on any one holder's share, in basis points (``10000`` = no cap).

    Raises
    ------
    GovernanceError
        If an argument is not an int or out of range (``balance > total`` included).

    Examples
    --------
    >>> cap_power(600, 1000, 2500), cap_power(100, 1000, 2500), cap_power(600, 1000, 10000)
    (250, 100, 600)
    """
    _check_int("balance", balance)
    _check_int("total", total, low=balance)
    _check_int("cap_bps", cap_bps, high=BPS)
    return min(balance, total * cap_bps // BPS)


def voting_powers(balances: Mapping[str, int], *, cap_bps: int) -> dict[str, int]:
    """Capped voting power of every holder, the cap taken on the sum of ``balances``.

    Examples
    --------
    >>> voting_powers({"member:a": 70, "member:b": 20, "member:c": 10}, cap_bps=5000)
    {'member:a': 50, 'member:b': 20, 'member:c': 10}
    """
    total = sum(balances.values())
    return {holder: cap_power(balance, total, cap_bps) for holder, balance in balances.items()}


def schedule(
    *, created_at: datetime, voting_delay_s: int, voting_period_s: int
) -> tuple[datetime, datetime]:
    """Return ``(vote_start, vote_end)`` of a proposal created at ``created_at``.

    Examples
    --------
    >>> from datetime import UTC
    >>> start, end = schedule(created_at=datetime(2026, 1, 1, tzinfo=UTC),
    ...                       voting_delay_s=60, voting_period_s=3600)
    >>> start.isoformat(), end.isoformat()
    ('2026-01-01T00:01:00+00:00', '2026-01-01T01:01:00+00:00')
    """
    _check_int("voting_delay_s", voting_delay_s)
    _check_int("voting_period_s", voting_period_s, low=1)
    start = created_at + timedelta(seconds=voting_delay_s)
    return start, start + timedelta(seconds=voting_period_s)


@dataclass(frozen=True)
class Timeline:
    """The times and frozen parameters that decide a proposal's state.

    Attributes
    ----------
    vote_start, vote_end
        Voting is open for ``vote_start < now <= deadline``; ``vote_end`` is the deadline before
        any late-quorum extension.
    quorum_bps, late_quorum_extension_s
        Fixed from the policy when the proposal was created.
    quorum_reached_at
        When a vote first made the quorum reached (``None`` if it never was).
    eta
        When a queued proposal becomes executable (``None`` until queued).
    executed, canceled
        Terminal flags.
    grace_period_s
        How long after ``eta`` a queued proposal stays executable.
    """

    vote_start: datetime
    vote_end: datetime
    quorum_bps: int
    late_quorum_extension_s: int = 0
    quorum_reached_at: datetime | None = None
    eta: datetime | None = None
    executed: bool = False
    canceled: bool = False
    grace_period_s: int = GRACE_PERIOD_S

    def __post_init__(self) -> None:
        if self.vote_end <= self.vote_start:
            raise GovernanceError(
                "vote_end", code="out-of-range", reason="must be after vote_start"
            )
        _check_int("quorum_bps", self.quorum_bps, high=BPS)
        _check_int("late_quorum_extension_s", self.late_quorum_extension_s)
        _check_int("grace_period_s", self.grace_period_s)

    def deadline(self) -> datetime:
        """Return the voting deadline, moved by a late quorum (``GovernorPreventLateQuorum``).

        Examples
        --------
        >>> from datetime import UTC
        >>> t = datetime(2026, 1, 1, tzinfo=UTC)
        >>> late = Timeline(t, t + timedelta(hours=1), 400, late_quorum_extension_s=600,
        ...                 quorum_reached_at=t + timedelta(minutes=55))
        >>> late.deadline() - t
        datetime.timedelta(seconds=3900)
        """
        if self.quorum_reached_at is None:
            return self.vote_end
        extended = self.quorum_reached_at + timedelta(seconds=self.late_quorum_extension_s)
        return max(self.vote_end, extended)


def state_of(proposal: Timeline, *, now: datetime, tally: Tally, total_power: int) -> ProposalState:
    """Compute a proposal's state exactly as ``Governor.state`` does.

    Parameters
    ----------
    proposal
        Its timeline.
    now
        The current time (tz-aware).
    tally
        Power cast per choice.
    total_power
        Total voting power at the snapshot (the quorum's base).

    Examples
    --------
    >>> from datetime import UTC
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> p = Timeline(t, t + timedelta(hours=1), quorum_bps=400)
    >>> [str(state_of(p, now=t + timedelta(minutes=m), tally=Tally(50, 10, 0), total_power=1000))
    ...  for m in (0, 30, 61)]
    ['pending', 'active', 'succeeded']
    """
    if proposal.executed:
        return ProposalState.EXECUTED
    if proposal.canceled:
        return ProposalState.CANCELED
    if now <= proposal.vote_start:
        return ProposalState.PENDING
    if now <= proposal.deadline():
        return ProposalState.ACTIVE
    passed = vote_succeeded(tally) and quorum_reached(
        tally, total_power=total_power, quorum_bps=proposal.quorum_bps
    )
    if not passed:
        return ProposalState.DEFEATED
    if proposal.eta is None:
        return ProposalState.SUCCEEDED
    if now >= proposal.eta + timedelta(seconds=proposal.grace_period_s):
        return ProposalState.EXPIRED
    return ProposalState.QUEUED


def eta_for(*, queued_at: datetime, timelock_s: int) -> datetime:
    """When a proposal queued at ``queued_at`` may be executed.

    Examples
    --------
    >>> from datetime import UTC
    >>> eta_for(queued_at=datetime(2026, 1, 1, tzinfo=UTC), timelock_s=86400).day
    2
    """
    _check_int("timelock_s", timelock_s)
    return queued_at + timedelta(seconds=timelock_s)


def is_executable(proposal: Timeline, *, now: datetime, tally: Tally, total_power: int) -> bool:
    """Whether the proposal is queued and its timelock has passed (``now >= eta``)."""
    state = state_of(proposal, now=now, tally=tally, total_power=total_power)
    return state is ProposalState.QUEUED and proposal.eta is not None and now >= proposal.eta
