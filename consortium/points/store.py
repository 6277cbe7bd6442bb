"""The points API in one import: the operations that move points, and the reads.

The operations and who may perform them, each one ledger entry: :func:`mint` and
:func:`mint_contributions` (coordinator, contributions only; :mod:`consortium.points.minting`),
:func:`deposit` and :func:`redeem` (treasurer, against off-ledger payments;
:mod:`consortium.points.payments`) and :func:`settle` (coordinator, paid queries;
:mod:`consortium.points.settlement`). There is no free transfer. Each one validates its arguments
and asks the registry for the signer's role (:func:`consortium.identity.registry.require_role`),
then moves points through :func:`consortium.points.posting.post`, the one path by which points
move: it writes the ledger entry, the conditional balance updates and the journal lines in one
SAVEPOINT, so on any error nothing of the operation is written, even if the caller catches the
error and commits.

Nothing here commits: the edge frames ``with factory.begin() as session:``. The reads
(:func:`balance`, :func:`balances`, :func:`balances_at`, :func:`supply`, :func:`contributions`,
:func:`history`, :func:`check_books`) live in :mod:`consortium.points.books`. All of them are
re-exported here, so ``consortium.points.store`` is the one place to import the points API from.
"""

from __future__ import annotations

from consortium.points.books import (
    Movement,
    Supply,
    balance,
    balances,
    balances_at,
    check_books,
    contributions,
    history,
    supply,
)
from consortium.points.minting import mint, mint_contributions
from consortium.points.payments import deposit, redeem
from consortium.points.posting import open_account
from consortium.points.settlement import settle

__all__ = [
    "Movement",
    "Supply",
    "balance",
    "balances",
    "balances_at",
    "check_books",
    "contributions",
    "deposit",
    "history",
    "mint",
    "mint_contributions",
    "open_account",
    "redeem",
    "settle",
    "supply",
]
