"""A company's join request opens its own ``admit-member`` proposal (issue 15).

The coordinator service calls :func:`open_admission` in the transaction that records the join
request (:func:`consortium.membership.joins.record_join_request`): the ``proposal-created`` entry
is countersigned by the coordinator over the company's own signed join request, so the applicant
is its proposer and no board member has to open it. The ledger accepts that entry only for
exactly the member id and key the request carries (:mod:`consortium.ledger.admission`).

If the board defeats it, or lets it expire, a member may open a new one for the same join
request (``consortium members propose-admit``): the join request itself cannot open a second one
(its nonce is spent).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from consortium.errors import GovernanceError
from consortium.governance.clock import SYSTEM_CLOCK, Clock
from consortium.governance.models import ProposalRecord
from consortium.governance.rules import ProposalKind
from consortium.governance.store import create_proposal
from consortium.ledger.admission import JOIN_ACTION, applicant_key
from consortium.ledger.requests import Countersigned, SignedRequest
from consortium.ledger.signing import Signer

__all__ = ["open_admission"]


def open_admission(
    session: Session, *, request: SignedRequest, coordinator: Signer, clock: Clock = SYSTEM_CLOCK
) -> ProposalRecord:
    """Open the ``admit-member`` proposal a company's join request asks for; return it.

    Parameters
    ----------
    request
        The company's checked ``join`` request (its key is not registered yet).
    coordinator
        The coordinator key: it countersigns the ``proposal-created`` entry.
    clock
        The coordinator's clock.

    Raises
    ------
    GovernanceError
        ``malformed`` (not a join request carrying its signer's key), or any refusal of
        :func:`~consortium.governance.store.create_proposal`; nothing is written.
    RequestRejected
        If the ledger refuses the request as the proposal's authority (a spent nonce).
    """
    key = applicant_key(request)
    if request.action != JOIN_ACTION or key is None:
        raise GovernanceError(request.subject, code="malformed",
                              reason="not a join request carrying its signer's key")  # fmt: skip
    member = str(request.body.get("member_id"))
    return create_proposal(
        session, kind=ProposalKind.ADMIT_MEMBER, title=f"Admit {member}",
        params={"member_id": member, "key_id": request.actor_key_id, "role": "member"},
        signer=Countersigned(coordinator, request), public_key=key, clock=clock,
    )  # fmt: skip
