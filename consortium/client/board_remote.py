"""What a board member's or cargo owner's own dashboard reads through the coordinator service.

The same values and tables the coordinator's view reads from its database
(:mod:`consortium.queries`), built from the service's answers, so a UI on a member's machine
(no database, no coordinator key) renders them with the same code.

Examples
--------
>>> remote = RemoteCoordinator("https://coordinator.example:8443", pin="ab" * 8)  # doctest: +SKIP
>>> views = proposal_views(remote)  # doctest: +SKIP
>>> power_frame(remote, views[0].proposal_id)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, TypeVar

import pandas as pd
from pydantic import BaseModel

from consortium.client.remote import RemoteCoordinator
from consortium.ledger.signing import Signer
from consortium.points.accounts import cargo_account
from consortium.policy.model import ConsortiumPolicy
from consortium.queries.governance import ProposalView
from consortium.queries.policy import PolicyInForce
from consortium.wire.board import ChangesOut, KeyOut, PolicyHistoryOut, PowerOut
from consortium.wire.points import HistoryOut

__all__ = [
    "account_history_frame",
    "changes_frame",
    "lane_catalogue_frame",
    "policy_state",
    "power_frame",
    "proposal_views",
    "whose_key",
]

POWER_COLUMNS = ["member", "balance_at_snapshot", "power", "support", "vote_power"]
M = TypeVar("M", bound=BaseModel)
CATALOGUE_COLUMNS = ["origin", "destination", "mode", "legs_pooled"]


def _get(remote: RemoteCoordinator, path: str, model: type[M], **params: Any) -> M:
    """Read ``path`` (under ``/v1``) as ``model``; refusals raise ``ServiceRefused``."""
    return remote.get(path, model, params=params)


def proposal_views(remote: RemoteCoordinator) -> list[ProposalView]:
    """Every proposal, newest first, with its state on the coordinator's clock."""
    return [ProposalView(**fields) for fields in remote.proposals()]


def policy_state(remote: RemoteCoordinator) -> tuple[PolicyInForce, pd.DataFrame]:
    """Return the policy in force (with the entry that set it) and every version before it.

    The history has the columns of :func:`consortium.queries.policy.policy_history_frame`.
    """
    policy = ConsortiumPolicy.from_dict(remote.policy())
    versions = _get(remote, "/policy/history", PolicyHistoryOut).versions
    columns = ["version", "seq", "time", "proposal_id", "changes"]
    history = pd.DataFrame([v.model_dump() for v in versions], columns=columns)
    if not versions:
        return PolicyInForce(0, None, None, None, policy), history
    last = versions[-1]
    return PolicyInForce(last.version, last.seq, last.time, last.proposal_id, policy), history


def power_frame(remote: RemoteCoordinator, proposal_id: str) -> pd.DataFrame:
    """Every member's balance and capped power at the snapshot, and its vote.

    The columns of :func:`consortium.queries.governance.voting_power_frame`.
    """
    rows = [
        row.model_dump() for row in _get(remote, f"/proposals/{proposal_id}/power", PowerOut).rows
    ]
    frame = pd.DataFrame(rows, columns=POWER_COLUMNS)
    return frame.astype({"balance_at_snapshot": "int64", "power": "int64", "vote_power": "int64"})


def changes_frame(remote: RemoteCoordinator, proposal_id: str) -> pd.DataFrame:
    """Return what the proposal would change if executed now: ``key``, ``now``, ``after``."""
    rows = [
        row.model_dump()
        for row in _get(remote, f"/proposals/{proposal_id}/changes", ChangesOut).rows
    ]
    return pd.DataFrame(rows, columns=["key", "now", "after"])


def whose_key(remote: RemoteCoordinator, signer: Signer) -> KeyOut:
    """Return the role of ``signer``'s key and the member holding it.

    Raises
    ------
    ServiceRefused
        ``unknown-key`` if the key is not registered.
    """
    return _get(remote, f"/keys/{signer.key_id}", KeyOut)


def lane_catalogue_frame(remote: RemoteCoordinator) -> pd.DataFrame:
    """Return the lanes a buyer can ask about (the columns of ``lane_catalogue``)."""
    return pd.DataFrame(remote.lanes(), columns=CATALOGUE_COLUMNS)


def account_history_frame(remote: RemoteCoordinator, owner: Signer, *, limit: int) -> pd.DataFrame:
    """Return the cargo owner's own movements, newest first."""
    account = cargo_account(owner.key_id)
    moves = _get(remote, f"/points/history/{account}", HistoryOut, limit=limit).movements
    return pd.DataFrame(moves, columns=["seq", "time", "kind", "delta", "balance"])
