"""What a board member reads before voting: power at the snapshot, what a proposal changes.

Also the policy's history and who a key is, so a member's own dashboard (which has no database)
shows what the coordinator's own view shows.
"""

from __future__ import annotations

from consortium.wire.envelope import WireModel


class PowerRow(WireModel):
    """One member's balance and capped voting power at a proposal's snapshot, and its vote.

    ``support`` is empty and ``vote_power`` 0 when the member has not voted.
    """

    member: str
    balance_at_snapshot: int
    power: int
    support: str
    vote_power: int


class PowerOut(WireModel):
    """Every member with points at the snapshot or a vote."""

    proposal_id: str
    rows: list[PowerRow]


Value = bool | int | float | str | None
"""A policy or proposal parameter's value (JSON scalar)."""


class ChangeRow(WireModel):
    """One parameter a proposal changes: its value in force (``None``: not a policy key) and after.

    ``after`` is text starting ``refused:`` when the policy would refuse the change.
    """

    key: str
    now: Value
    after: Value


class ChangesOut(WireModel):
    """What the proposal would change if it executed now."""

    proposal_id: str
    kind: str
    rows: list[ChangeRow]


class PolicyVersionRow(WireModel):
    """One policy version: the ``policy-changed`` entry and what it changed."""

    version: int
    seq: int
    time: str | None
    proposal_id: str | None
    changes: str


class PolicyHistoryOut(WireModel):
    """Every policy version, oldest first."""

    versions: list[PolicyVersionRow]


class KeyOut(WireModel):
    """A registered key: its role, whether it is revoked, and the member that holds it, if any."""

    key_id: str
    role: str
    revoked: bool
    member: str | None
    member_status: str | None


class MemberRow(WireModel):
    """One member ever admitted: status, points and the ledger positions of its admission/exit.

    ``key_id`` is the first 16 hex digits of its key id.
    """

    member: str
    role: str
    status: str
    points: int
    key_id: str
    admitted_seq: int
    admitted_by: str | None
    exit_requested_seq: int | None
    removed_seq: int | None
    removed_by: str | None


class MembersOut(WireModel):
    """The roster, in admission order."""

    rows: list[MemberRow]


class RoundRow(WireModel):
    """One ``round-completed`` or ``round-failed`` entry (the columns of ``rounds_frame``)."""

    seq: int
    time: str
    model: str | None
    round: int | None
    status: str
    model_version: str
    members: int
    examples: int
    failures: int
    sat_out: str
    code: str | None
    rule: str


class RoundsOut(WireModel):
    """Federated rounds as the ledger records them, in ledger order."""

    rows: list[RoundRow]


class EpsilonRow(WireModel):
    """ε a member had spent after a completed round (``None``: not finite)."""

    model: str | None
    round: int
    member: str
    epsilon_spent: float | None


class EpsilonOut(WireModel):
    """ε spent per member after each completed round."""

    rows: list[EpsilonRow]
