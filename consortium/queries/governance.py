"""Proposals with their state, tally and quorum, and every member's voting power at the snapshot.

States are computed at a time the caller gives (``now``), exactly as the governance store does,
so a page shows what a vote or queue call would see at that moment.

Examples
--------
>>> # with factory.begin() as session:
>>> #     views = proposals(session, now=datetime.now(UTC))
>>> #     proposals_frame(views)[["proposal_id", "state", "for_power"]]
>>> #     voting_power_frame(session, views[0].proposal_id)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

import pandas as pd
from sqlalchemy.orm import Session

from consortium.governance.models import ProposalRecord
from consortium.governance.rules import quorum, quorum_reached
from consortium.governance.store import get_proposal, list_proposals, votes, voting_power
from consortium.ledger.canonical import format_time
from consortium.membership import list_members
from consortium.points.rules import MEMBER_PREFIX
from consortium.points.store import balances_at


@dataclass(frozen=True)
class ProposalView:
    """A proposal as the dashboard shows it.

    Attributes
    ----------
    proposal_id, kind, title, proposer : str
        What it is and who proposed it (``title`` is off-ledger free text).
    state : str
        Lifecycle state at the time asked (``pending``, ``active``, ``succeeded``, ...).
    created_at, vote_start, deadline : str
        Canonical UTC times; ``deadline`` includes any late-quorum extension.
    eta : str or None
        When a queued proposal becomes executable.
    snapshot_seq : int
        Ledger position whose balances give voting power.
    snapshot_fixed : bool
        Whether the snapshot is recorded (after the first vote or queueing).
    total_power, quorum_power : int
        Total voting power at the snapshot and the ``for + abstain`` power the quorum needs.
    for_power, against_power, abstain_power : int
        The tally.
    quorum_reached : bool
        Whether ``for + abstain`` reaches the quorum.
    votes : int
        Votes cast.
    params : Mapping[str, object]
        What it changes.
    """

    proposal_id: str
    kind: str
    title: str
    proposer: str
    state: str
    created_at: str
    vote_start: str
    deadline: str
    eta: str | None
    snapshot_seq: int
    snapshot_fixed: bool
    total_power: int
    quorum_power: int
    for_power: int
    against_power: int
    abstain_power: int
    quorum_reached: bool
    votes: int
    params: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    @classmethod
    def of(cls, record: ProposalRecord, *, now: datetime, n_votes: int) -> ProposalView:
        """Project a :class:`~consortium.governance.models.ProposalRecord` at ``now``."""
        bps = record.timeline.quorum_bps
        return cls(
            proposal_id=record.proposal_id,
            kind=record.kind,
            title=record.title,
            proposer=record.proposer,
            state=str(record.state(now=now)),
            created_at=format_time(record.created_at),
            vote_start=format_time(record.vote_start),
            deadline=format_time(record.deadline),
            eta=None if record.eta is None else format_time(record.eta),
            snapshot_seq=record.snapshot_seq,
            snapshot_fixed=record.snapshot_fixed,
            total_power=record.total_power,
            quorum_power=quorum(record.total_power, quorum_bps=bps),
            for_power=record.tally.for_power,
            against_power=record.tally.against_power,
            abstain_power=record.tally.abstain_power,
            quorum_reached=quorum_reached(
                record.tally, total_power=record.total_power, quorum_bps=bps
            ),
            votes=n_votes,
            params=MappingProxyType(dict(record.params)),
        )


def proposals(session: Session, *, now: datetime) -> list[ProposalView]:
    """Every proposal, newest first, with its state at ``now``."""
    return [
        ProposalView.of(record, now=now, n_votes=len(votes(session, record.proposal_id)))
        for record in list_proposals(session)
    ]


def proposal(session: Session, proposal_id: str, *, now: datetime) -> ProposalView:
    """One proposal with its state at ``now``.

    Raises
    ------
    GovernanceError
        ``unknown-proposal``.
    """
    record = get_proposal(session, proposal_id)
    return ProposalView.of(record, now=now, n_votes=len(votes(session, proposal_id)))


PROPOSAL_COLUMNS = [
    "proposal_id", "kind", "title", "proposer", "state", "for_power", "against_power",
    "abstain_power", "total_power", "quorum_power", "quorum_reached", "votes", "vote_start",
    "deadline", "eta", "snapshot_seq",
]  # fmt: skip


def proposals_frame(views: Sequence[ProposalView]) -> pd.DataFrame:
    """Return the proposals as a table (see :data:`PROPOSAL_COLUMNS`)."""
    return pd.DataFrame(
        [[getattr(v, c) for c in PROPOSAL_COLUMNS] for v in views], columns=PROPOSAL_COLUMNS
    )


def tally_frame(view: ProposalView) -> pd.DataFrame:
    """Return the tally as ``support``/``power`` rows (for, against, abstain) for a chart."""
    return pd.DataFrame(
        {
            "support": ["for", "against", "abstain"],
            "power": [view.for_power, view.against_power, view.abstain_power],
        }
    )


def voting_power_frame(session: Session, proposal_id: str) -> pd.DataFrame:
    """Every member's balance and capped voting power at the proposal's snapshot, and its vote.

    Columns: ``member``, ``balance_at_snapshot``, ``power`` (the capped power a vote would
    carry), ``support`` (``for``/``against``/``abstain``, or empty if it has not voted) and
    ``vote_power`` (what its vote counted, 0 if none). Members with neither points at the
    snapshot nor a vote are left out.

    Raises
    ------
    GovernanceError
        ``unknown-proposal``.
    """
    record = get_proposal(session, proposal_id)
    held = balances_at(session, seq=record.snapshot_seq, prefix=MEMBER_PREFIX)
    cast = {v.member: v for v in votes(session, proposal_id)}
    rows = []
    for member in list_members(session):
        balance = held.get(member.account, 0)
        vote = cast.get(member.member)
        if balance <= 0 and vote is None:
            continue
        rows.append(
            (member.member, balance, voting_power(session, proposal_id, member.member),
             "" if vote is None else str(vote.support), 0 if vote is None else vote.power)
        )  # fmt: skip
    frame = pd.DataFrame(
        rows, columns=["member", "balance_at_snapshot", "power", "support", "vote_power"]
    )
    return frame.astype({"balance_at_snapshot": "int64", "power": "int64", "vote_power": "int64"})
