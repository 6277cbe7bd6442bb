"""What the treasurer does: deposit the points a cargo owner paid for off-ledger (an invoice).

The deposit is timed by the coordinator's clock (the handle's
:attr:`~consortium.client.connection.Coordinator.clock`, read under the ledger's write lock),
never by a time the caller passes: a backdated deposit could land before a price change.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from consortium.client.cargo import cargo_balance
>>> from consortium.client.demo import start_demo_consortium
>>> demo = start_demo_consortium(workdir=Path(tempfile.mkdtemp()))
>>> receipt = deposit_points(demo.coordinator, treasurer=demo.treasurer, amount=100,
...                          owner_key_id=demo.cargo_owner.key_id, external_ref="INV-1")
>>> receipt.amount, cargo_balance(demo.coordinator, owner=demo.cargo_owner)
(100, 100)
"""

from __future__ import annotations

from dataclasses import dataclass

from consortium.client.connection import Coordinator
from consortium.governance.clock import ledger_now
from consortium.ledger.signing import Signer
from consortium.points.rules import cargo_account
from consortium.points.store import deposit


@dataclass(frozen=True)
class Deposit:
    """A deposit as recorded: the account credited, the amount, the invoice and its entry."""

    account: str
    amount: int
    external_ref: str
    seq: int


def deposit_points(
    coordinator: Coordinator,
    *,
    treasurer: Signer,
    owner_key_id: str,
    amount: int,
    external_ref: str,
) -> Deposit:
    """Credit a cargo owner's account against an off-ledger payment, signed by the treasurer.

    Parameters
    ----------
    coordinator
        The coordinator handle.
    treasurer
        A registered treasurer's key.
    owner_key_id
        The cargo owner's registered key id (its account is ``cargo:<key id>``).
    amount
        Points credited (an ``int``).
    external_ref
        The invoice reference; each can be deposited only once.

    Raises
    ------
    PointsError
        If the key is no treasurer, the owner is not registered, the amount is malformed or the
        reference was used before (nothing is written).
    """
    account = cargo_account(owner_key_id)
    with coordinator.transaction() as session:
        moment = ledger_now(session, coordinator.clock)
        entry = deposit(session, account=account, amount=amount, external_ref=external_ref,
                        signer=treasurer, moment=moment)  # fmt: skip
    return Deposit(account=account, amount=amount, external_ref=external_ref, seq=entry.seq)
