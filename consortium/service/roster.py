"""SuperNode keys follow the roster: after an admission or a removal, and when the service starts.

The SuperLink's list of SuperNode keys lives in the deployment layer, which the service may
not import; the CLI edge (``consortium coordinator serve --flwr-home DIR``) hands the service a
:class:`~consortium.membership.joins.SupernodeRegistry` (``SuperNodeRegistry.at(DIR)``) and the
service calls :func:`~consortium.membership.joins.sync_supernodes` with it once the change of
membership is committed. The sync is idempotent: a failed one (the SuperLink down) is logged
and redone by the next change, the next start or ``consortium members supernodes-sync``.
"""

from __future__ import annotations

import logging

from consortium.errors import ConsortiumError
from consortium.governance.rules import ProposalKind
from consortium.membership.joins import SupernodePlan, sync_supernodes
from consortium.service.state import ServiceState

logger = logging.getLogger(__name__)

ROSTER_KINDS = frozenset({ProposalKind.ADMIT_MEMBER, ProposalKind.REMOVE_MEMBER})
"""Proposal kinds whose execution changes the roster."""


def follow_roster(state: ServiceState) -> SupernodePlan | None:
    """Register admitted members' SuperNode keys and drop removed ones' at the SuperLink.

    Runs in its own transaction, after the change of membership committed (the SuperLink is
    not part of the ledger's transaction). Returns the plan applied; ``None`` when the service
    has no SuperLink registry or the sync failed (logged; the next sync catches up).
    """
    if state.supernodes is None:
        return None
    try:
        with state.transaction() as session:
            plan = sync_supernodes(session, state.supernodes)
    except ConsortiumError as exc:
        logger.error("SuperNode keys do not follow the roster yet: %s", exc)
        return None
    logger.info("SuperNode keys follow the roster: %d registered, %d unregistered",
                len(plan.register), len(plan.unregister))  # fmt: skip
    return plan
