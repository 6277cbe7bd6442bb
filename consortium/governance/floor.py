"""The consortium's minimum membership: no proposal may take it below the board's floor.

Proposals that removed members one by one were executed until no active member was left, and
then nobody could propose again. :func:`check_membership_floor` is asked when a ``remove-member``
proposal is made and again when it is executed (other removals may have been executed in
between), against the ``min_members`` of the policy in force.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from consortium.errors import GovernanceError
from consortium.membership import active_members
from consortium.policy.store import current_policy

__all__ = ["check_membership_floor"]


def check_membership_floor(session: Session, *, member: str, proposal_id: str | None = None) -> int:
    """Refuse removing ``member`` if fewer than ``min_members`` active members would remain.

    Parameters
    ----------
    session
        The caller's session.
    member
        The member a ``remove-member`` proposal would remove.
    proposal_id
        Named in the refusal when the proposal exists already.

    Returns
    -------
    int
        How many active members would remain.

    Raises
    ------
    GovernanceError
        ``below-min-members``, naming the proposal (or ``params.member_id``).
    """
    active = {m.member for m in active_members(session)}
    remaining = len(active - {member})
    minimum = current_policy(session).min_members
    if remaining < minimum:
        subject = f"proposal {proposal_id}" if proposal_id is not None else "params.member_id"
        raise GovernanceError(
            subject, code="below-min-members",
            reason=f"removing {member} leaves {remaining} active members; the board's minimum "
            f"is {minimum}",
        )  # fmt: skip
    return remaining
