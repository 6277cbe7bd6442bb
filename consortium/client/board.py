"""What a board member does: propose, vote with its own key, and see the voting power it holds.

The coordinator's steps that follow a vote (queue, execute after the timelock) are here too, for
the demo and the operator's notebook; they are signed with the coordinator's key. No call takes a
time: every step is timed by the coordinator's clock (``coordinator.clock``). The values
returned are the governance store's frozen records, re-exported here for the UIs.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from consortium.client.demo import mint_contribution_points, start_demo_consortium
>>> from consortium.governance.clock import wait_until
>>> demo = start_demo_consortium(workdir=Path(tempfile.mkdtemp()))  # short governance timings
>>> _ = mint_contribution_points(demo, examples={"rhine-road": 700, "meridian-line": 300},
...                              model="eta", server_round=1)
>>> record = create_proposal(
...     demo.coordinator, signer=demo.members["rhine-road"], kind="fees", title="Lane at 14",
...     params={"lane_query_points": 14, "warehouse_query_points": 25})
>>> voting_powers(demo.coordinator, proposal_id=record.proposal_id,
...               members=["rhine-road", "silk-corridor-rail"])
{'rhine-road': 300, 'silk-corridor-rail': 0}
>>> wait_until(record.vote_start)  # one second in the demo consortium
>>> vote = cast_vote(demo.coordinator, signer=demo.members["rhine-road"], support="for",
...                  proposal_id=record.proposal_id)
>>> vote.member, vote.support, vote.power
('rhine-road', <Support.FOR: 'for'>, 300)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from consortium.client.connection import Coordinator
from consortium.governance import store
from consortium.governance.execution import execute_proposal as _execute
from consortium.governance.models import ProposalRecord, VoteRecord
from consortium.governance.rules import Support, quorum
from consortium.ledger.signing import Signer
from consortium.policy.model import ConsortiumPolicy

__all__ = [
    "ConsortiumPolicy",
    "ProposalRecord",
    "Support",
    "VoteRecord",
    "cast_vote",
    "create_proposal",
    "execute_proposal",
    "get_proposal",
    "queue_proposal",
    "quorum_needed",
    "voting_powers",
]


def create_proposal(
    coordinator: Coordinator,
    *,
    signer: Signer,
    kind: str,
    params: Mapping[str, object],
    title: str,
    description: str = "",
    public_key: bytes | None = None,
) -> ProposalRecord:
    """Propose a change, signed with an active member's key (``proposal-created``).

    Parameters
    ----------
    coordinator
        The coordinator handle.
    signer
        The proposing member's key.
    kind, params
        What changes (``fees``, ``policy``, ``admit-member`` ...) and its parameters.
    title, description
        Off-ledger free text shown to the voters.
    public_key
        The subject's public key, for membership proposals.

    Raises
    ------
    GovernanceError, MembershipError
        If the proposal is refused (nothing is written).
    """
    with coordinator.transaction() as session:
        return store.create_proposal(
            session, kind=kind, params=params, title=title, signer=signer,
            description=description, public_key=public_key, clock=coordinator.clock,
        )  # fmt: skip


def cast_vote(
    coordinator: Coordinator,
    *,
    signer: Signer,
    proposal_id: str,
    support: Support | str,
) -> VoteRecord:
    """Cast a member's vote, signed with its own key, in its own transaction (``vote-cast``).

    Raises
    ------
    GovernanceError
        If the vote is refused (voting not open, no power at the snapshot, a second vote);
        nothing is written.
    """
    with coordinator.transaction() as session:
        return store.cast_vote(
            session,
            proposal_id=proposal_id,
            signer=signer,
            support=support,
            clock=coordinator.clock,
        )


def get_proposal(coordinator: Coordinator, proposal_id: str) -> ProposalRecord:
    """Return a proposal as it stands (its state at any time is ``record.state(now=...)``).

    Raises
    ------
    GovernanceError
        ``unknown-proposal``.
    """
    with coordinator.transaction() as session:
        return store.get_proposal(session, proposal_id)


def voting_powers(
    coordinator: Coordinator, *, proposal_id: str, members: Iterable[str]
) -> dict[str, int]:
    """Return each member's capped voting power at the proposal's snapshot (0 without points)."""
    with coordinator.transaction() as session:
        return {m: store.voting_power(session, proposal_id, m) for m in members}


def quorum_needed(record: ProposalRecord) -> int:
    """Return the ``for + abstain`` power the proposal's quorum needs.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> quorum_needed(SimpleNamespace(total_power=600, timeline=SimpleNamespace(quorum_bps=2000)))
    120
    """
    return quorum(record.total_power, quorum_bps=record.timeline.quorum_bps)


def queue_proposal(coordinator: Coordinator, *, proposal_id: str, signer: Signer) -> ProposalRecord:
    """Queue a succeeded proposal into its timelock, signed by the coordinator.

    Writes ``proposal-queued``.

    Raises
    ------
    GovernanceError
        If the proposal has not succeeded at the coordinator's time.
    """
    with coordinator.transaction() as session:
        return store.queue_proposal(
            session, proposal_id=proposal_id, signer=signer, clock=coordinator.clock
        )


def execute_proposal(
    coordinator: Coordinator, *, proposal_id: str, signer: Signer
) -> ProposalRecord:
    """Execute a queued proposal once its timelock has passed, signed by the coordinator.

    The change (fees, policy, registry) takes effect in the same transaction.

    Raises
    ------
    GovernanceError
        If the proposal is not queued or the timelock has not passed (nothing is written).
    """
    with coordinator.transaction() as session:
        return _execute(session, proposal_id=proposal_id, signer=signer, clock=coordinator.clock)
