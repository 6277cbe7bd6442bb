"""What the dashboard does besides reading: sign and send (an edge, like a CLI body).

The actor's key file is loaded here, on the machine the dashboard runs on, for each action, and
never kept, uploaded or written anywhere. Through the coordinator service (the dashboard on a
member's or cargo owner's own machine) every proposal, vote and paid query is signed here and
sent with :class:`~consortium.client.remote.RemoteCoordinator`, which checks each receipt
against the pinned coordinator key. On the coordinator's own machine a paid query is bought
in-process through :func:`consortium.client.cargo.buy_forecast`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from consortium.client import Signer, load_key
from consortium.client.board_remote import whose_key
from consortium.client.cargo import buy_forecast, cargo_balance
from dashboards.context import DashboardContext

if TYPE_CHECKING:
    from consortium.wire.board import KeyOut
    from consortium.wire.governance import ProposalWritten


@dataclass(frozen=True)
class Bought:
    """A bought forecast as the page shows it, whichever way it was bought."""

    query_id: str
    fee: int
    answer: Mapping[str, object]
    parts: Mapping[str, int]
    balance_left: int
    entries: tuple[int, ...]


def actor_key(key_path: Path, passphrase: str) -> Signer:
    """Load the actor's key from its file on this machine (for one action only).

    Raises
    ------
    KeyFileError
        If the key file is missing or the passphrase is wrong.
    """
    return load_key(key_path, passphrase=passphrase)


def owner_balance(ctx: DashboardContext, *, key_path: Path, passphrase: str) -> int:
    """Return the points left to the cargo owner whose key file this is.

    Raises
    ------
    KeyFileError
        If the key file is missing or the passphrase is wrong.
    ServiceRefused
        If the coordinator service refuses or cannot be reached.
    """
    owner = actor_key(key_path, passphrase)
    if ctx.remote is not None:
        return ctx.remote.cargo_balance(owner=owner)
    assert ctx.coordinator is not None
    return cargo_balance(ctx.coordinator, owner=owner)


def submit_paid_query(
    ctx: DashboardContext,
    *,
    key_path: Path,
    passphrase: str,
    kind: str,
    params: Mapping[str, object],
    max_price_points: int,
    now: datetime,
) -> Bought:
    """Sign a ``kind`` query with the owner's key file; return the answer and the balance left.

    Raises
    ------
    KeyFileError
        If the key file is missing or the passphrase is wrong.
    QueryRejected, InsufficientPoints, ModelError, ConfigError, ServiceRefused
        If the query is refused (nothing is charged or written).
    VerificationError
        If the service's receipt does not check against the pinned coordinator key.
    """
    owner = actor_key(key_path, passphrase)
    if ctx.remote is not None:
        out = ctx.remote.buy_forecast(owner=owner, kind=kind, params=params,
                                      max_price_points=max_price_points, now=now)  # fmt: skip
        return Bought(query_id=out.query_id, fee=out.fee, answer=out.answer, parts=out.parts,
                      balance_left=out.balance_left, entries=(out.receipt.entry.seq,))  # fmt: skip
    bought = buy_forecast(ctx.answering_coordinator(), owner=owner, kind=kind, params=params,
                          max_price_points=max_price_points, now=now)  # fmt: skip
    paid = bought.paid
    return Bought(query_id=paid.query_id, fee=paid.fee, answer=paid.answer.summary(),
                  parts=paid.parts, balance_left=bought.balance_left,
                  entries=(paid.settled_seq, paid.answered_seq))  # fmt: skip


def voter(ctx: DashboardContext, *, key_path: Path, passphrase: str) -> KeyOut:
    """Return who the key file on this machine is to the coordinator (role, member).

    Raises
    ------
    KeyFileError, ServiceRefused
        A key that cannot be loaded, or one the coordinator does not know (``unknown-key``).
    """
    return whose_key(ctx.service(), actor_key(key_path, passphrase))


def cast_vote(
    ctx: DashboardContext,
    *,
    key_path: Path,
    passphrase: str,
    proposal_id: str,
    support: str,
    comment: str | None = None,
) -> ProposalWritten:
    """Sign a vote here with the member's key file and send it to the coordinator service.

    Raises
    ------
    KeyFileError, ServiceRefused, VerificationError
        As :func:`owner_balance` and :func:`submit_paid_query`; a refused vote writes nothing.
    """
    signer = actor_key(key_path, passphrase)
    return ctx.service().vote(signer=signer, proposal_id=proposal_id, support=support,
                              comment=comment or None)  # fmt: skip


def propose(
    ctx: DashboardContext,
    *,
    key_path: Path,
    passphrase: str,
    kind: str,
    params: Mapping[str, object],
    title: str,
    description: str = "",
) -> ProposalWritten:
    """Sign a proposal here with the member's key file and send it to the coordinator service.

    Raises
    ------
    KeyFileError, ServiceRefused, VerificationError
        As :func:`cast_vote`; a refused proposal writes nothing.
    """
    signer = actor_key(key_path, passphrase)
    return ctx.service().propose(signer=signer, kind=kind, params=params, title=title,
                                 description=description)  # fmt: skip


def advance(ctx: DashboardContext, *, proposal_id: str, step: str) -> ProposalWritten:
    """Ask the coordinator to ``queue`` or ``execute`` a proposal (its clock decides; no key).

    Raises
    ------
    ServiceRefused
        If the proposal cannot take that step now (nothing is written).
    """
    remote = ctx.service()
    return remote.queue(proposal_id) if step == "queue" else remote.execute(proposal_id)
