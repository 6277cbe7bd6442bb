"""Every kind of ledger entry the kit writes, in one enumeration.

An entry's ``kind`` is a lower-case kebab token inside the signed bytes, so the values here are
part of the ledger format: renaming one would make new entries unreadable to old verifiers.
:class:`EntryKind` is a :class:`~enum.StrEnum`, so a member *is* its string
(``EntryKind.VOTE_CAST == "vote-cast"``) and the bytes written are exactly those of the token.
Kinds read back from a database or an export are plain strings; compare them with the members.

Examples
--------
>>> EntryKind.ROUND_COMPLETED == "round-completed"
True
>>> EntryKind("points-minted") is EntryKind.POINTS_MINTED
True
>>> sorted(str(kind) for kind in POINTS_KINDS)[:2]
['points-deposited', 'points-minted']
>>> sorted(WRITERS[EntryKind.VOTE_CAST]), may_write("member", EntryKind.POINTS_MINTED)
(['board', 'member'], False)
"""

from __future__ import annotations

from enum import StrEnum, unique

__all__ = [
    "APPLICANT",
    "POINTS_KINDS",
    "ROUND_KINDS",
    "WRITERS",
    "EntryKind",
    "may_write",
    "writers_of",
]


@unique
class EntryKind(StrEnum):
    """The kind of a ledger entry, by the store that writes it."""

    # identity: the key registry (entry 0 is the coordinator registering itself)
    KEY_REGISTERED = "key-registered"
    KEY_REVOKED = "key-revoked"
    MEMBER_DETAILS_COMMITTED = "member-details-committed"
    MEMBER_DETAILS_ERASED = "member-details-erased"
    # membership: the roster
    MEMBER_ADMITTED = "member-admitted"
    MEMBER_EXIT_REQUESTED = "member-exit-requested"
    MEMBER_REMOVED = "member-removed"
    JOIN_REQUESTED = "join-requested"
    # federation rounds, recorded by the coordinator (consortium.contributions.recording)
    ROUND_COMPLETED = "round-completed"
    ROUND_FAILED = "round-failed"
    # points: every movement of points
    POINTS_MINTED = "points-minted"
    POINTS_DEPOSITED = "points-deposited"
    POINTS_REDEEMED = "points-redeemed"
    QUERY_SETTLED = "query-settled"
    # paid forecast queries
    QUERY_ANSWERED = "query-answered"
    # the board's parameters and its proposals
    POLICY_CHANGED = "policy-changed"
    PROPOSAL_CREATED = "proposal-created"
    VOTE_CAST = "vote-cast"
    PROPOSAL_QUEUED = "proposal-queued"
    PROPOSAL_EXECUTED = "proposal-executed"
    PROPOSAL_CANCELED = "proposal-canceled"


POINTS_KINDS = frozenset(
    {
        EntryKind.POINTS_MINTED,
        EntryKind.POINTS_DEPOSITED,
        EntryKind.POINTS_REDEEMED,
        EntryKind.QUERY_SETTLED,
    }
)
"""The kinds that move points (each stands for journal lines summing to zero)."""

ROUND_KINDS = (EntryKind.ROUND_COMPLETED, EntryKind.ROUND_FAILED)
"""The kinds that record a federated round."""


APPLICANT = "applicant"
"""Not a registered role: the key a company's own ``join`` request carries and proves, before
it is registered. It authorises one entry only, the ``admit-member`` proposal for itself
(:mod:`consortium.ledger.admission`)."""

_COORDINATOR = frozenset({"coordinator"})
_TREASURER = frozenset({"treasurer"})
_VOTER = frozenset({"member", "board"})

WRITERS: dict[str, frozenset[str]] = {
    # the registry and member details: the coordinator only (it acts for the board)
    EntryKind.KEY_REGISTERED: _COORDINATOR,
    EntryKind.KEY_REVOKED: _COORDINATOR,
    EntryKind.MEMBER_DETAILS_COMMITTED: _COORDINATOR,
    EntryKind.MEMBER_DETAILS_ERASED: _COORDINATOR,
    EntryKind.MEMBER_ADMITTED: _COORDINATOR,
    EntryKind.MEMBER_EXIT_REQUESTED: _VOTER,
    EntryKind.MEMBER_REMOVED: _COORDINATOR,
    EntryKind.JOIN_REQUESTED: _COORDINATOR,
    EntryKind.ROUND_COMPLETED: _COORDINATOR,
    EntryKind.ROUND_FAILED: _COORDINATOR,
    EntryKind.POINTS_MINTED: _COORDINATOR,
    EntryKind.POINTS_DEPOSITED: _TREASURER,
    EntryKind.POINTS_REDEEMED: _TREASURER,
    EntryKind.QUERY_SETTLED: _COORDINATOR,
    EntryKind.QUERY_ANSWERED: _COORDINATOR,
    EntryKind.POLICY_CHANGED: _COORDINATOR,
    EntryKind.PROPOSAL_CREATED: _VOTER | {APPLICANT},  # applicant: its own admit proposal
    EntryKind.VOTE_CAST: _VOTER,
    EntryKind.PROPOSAL_QUEUED: _COORDINATOR,
    EntryKind.PROPOSAL_EXECUTED: _COORDINATOR,
    EntryKind.PROPOSAL_CANCELED: _VOTER,
}
"""The one table of which role must have *authorised* each entry kind (role names as in
:class:`~consortium.ledger.keyring.Role`): the entry's own signer when it signs directly (in
process), or the signer of the request embedded in the entry when the coordinator countersigns
a request signed on the actor's machine (:mod:`consortium.ledger.requests`). ``append_entry``
refuses any other authoriser and ``verify`` replays it from the keys the ledger itself
registered. A kind outside :class:`EntryKind` may be written by the coordinator only."""


def writers_of(kind: str) -> frozenset[str]:
    """Return the roles that may authorise an entry of ``kind`` (coordinator for unknown kinds)."""
    return WRITERS.get(kind, _COORDINATOR)


def may_write(role: str, kind: str) -> bool:
    """Whether a key of ``role`` may authorise (sign, or sign the request of) a ``kind`` entry."""
    return role in writers_of(kind)
