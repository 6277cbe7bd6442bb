"""The one path by which points move: a ledger entry, conditional balance updates, journal lines.

:func:`post` runs inside a SAVEPOINT of the caller's transaction and in one order:

1. the ledger entry, which locks the ledger head row: every point movement queues behind the
   previous one on PostgreSQL (SQLite's ``BEGIN IMMEDIATE`` serialises writers anyway), so the
   account rows below are only ever locked by the holder of that one lock and cannot deadlock;
2. the debited accounts in sorted order (each operation debits at most one), each with the
   conditional ``UPDATE ... SET balance = balance - :debit + :credit WHERE balance >= :debit``
   and a rowcount check (:class:`~consortium.errors.InsufficientPoints` when it matched no row);
3. the credited-only accounts in sorted order, in one executemany;
4. the journal lines, then the operation's own row.

A ``CHECK (balance >= 0)`` backs the condition up. On any error the savepoint rolls back, so the
entry, the balances and the lines are written together or not at all, even if the caller catches
the error and commits. The operations themselves (who may do what) are in
:mod:`consortium.points.minting`, :mod:`consortium.points.payments` and
:mod:`consortium.points.settlement`; the signer's role is checked by
:func:`consortium.identity.registry.require_role` before any of them posts.
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Table, bindparam, insert, select, update
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consortium.errors import InsufficientPoints, PointsError
from consortium.ledger.entry import Entry
from consortium.ledger.requests import Actor
from consortium.ledger.store import append_entry
from consortium.points.accounts import BURN_SINK, MINT_SOURCE, account_kind
from consortium.points.books import balance
from consortium.points.models import AccountRow, JournalRow

logger = logging.getLogger(__name__)

_table = typing.cast(Table, AccountRow.__table__)
_accounts = _table.c


def _rowcount(result: Result[Any]) -> int:
    # An UPDATE's result is a CursorResult; Session.execute is typed with the general Result.
    return typing.cast(CursorResult[Any], result).rowcount


def _insert_account(session: Session, account: str) -> None:
    try:
        with session.begin_nested():
            session.execute(
                insert(AccountRow).values(account=account, kind=account_kind(account), balance=0)
            )
    except IntegrityError:
        # Opened by a concurrent transaction between our check and our insert: it exists now.
        logger.debug("account %s was opened concurrently", account)


def open_account(session: Session, account: str) -> None:
    """Open ``account`` with a zero balance; do nothing if it is open already (idempotent).

    Raises
    ------
    PointsError
        ``bad-account`` if ``account`` is not a holder account.
    """
    account_kind(account)
    exists = session.execute(select(_accounts.account).where(_accounts.account == account)).first()
    if exists is None:
        _insert_account(session, account)


# The statements of a movement, built once (building one per call costs more than running it).
_CREDIT = (
    update(_table)
    .where(_accounts.account == bindparam("target"))
    .values(balance=_accounts.balance + bindparam("points", type_=BigInteger))
)
_DEBIT = (  # the conditional debit, with the same account's credit
    update(_table)
    .where(
        _accounts.account == bindparam("target"),
        _accounts.balance >= bindparam("debit", type_=BigInteger),
    )
    .values(
        balance=_accounts.balance
        - bindparam("debit", type_=BigInteger)
        + bindparam("credit", type_=BigInteger)
    )
)
_OPEN = select(_accounts.account).where(_accounts.account.in_(bindparam("holders", expanding=True)))
_JOURNAL = insert(typing.cast(Table, JournalRow.__table__))


@dataclass(frozen=True)
class Conflict:
    """What a unique-index violation on an operation's side row means to the caller."""

    subject: str
    code: str
    reason: str


def post(
    session: Session,
    *,
    kind: str,
    payload: Mapping[str, object],
    signer: Actor,
    lines: Sequence[tuple[str, int]],
    moment: datetime | None,
    side_row: Callable[[int], None] | None = None,
    conflict: Conflict | None = None,
) -> Entry:
    """Append the entry, move the balances, write the journal lines: all or nothing.

    The one path by which points move. ``lines`` are ``(account, delta)`` pairs that sum to
    zero, with :data:`~consortium.points.accounts.MINT_SOURCE` and
    :data:`~consortium.points.accounts.BURN_SINK` standing for creation and destruction;
    ``side_row(seq)`` writes the operation's own row (contribution, payment) in the same
    savepoint, and a unique-index violation there becomes ``PointsError(conflict...)``.

    Raises
    ------
    InsufficientPoints
        If a debited account holds less than its debit.
    PointsError
        ``conflict`` when the side row violates a unique index; ``unbalanced-entry`` if the
        lines do not sum to zero.
    """
    if sum(delta for _, delta in lines) != 0:
        raise PointsError(kind, code="unbalanced-entry", reason="journal lines must sum to zero")
    debits: dict[str, int] = {}
    credited: dict[str, int] = {}
    for account, delta in lines:
        if account in (MINT_SOURCE, BURN_SINK):
            continue
        target = debits if delta < 0 else credited
        target[account] = target.get(account, 0) + abs(delta)
    holders = sorted(set(debits) | set(credited))
    try:
        with session.begin_nested():
            entry = append_entry(session, kind=kind, payload=payload, signer=signer, moment=moment)
            existing = set(session.execute(_OPEN, {"holders": holders}).scalars())
            for account in holders:
                if account not in existing:
                    if account in debits:
                        raise InsufficientPoints(account, 0, debits[account])
                    _insert_account(session, account)
            for account in sorted(debits):  # the conditional debit, with the account's credit
                debit, credit = debits[account], credited.get(account, 0)
                moved = session.execute(
                    _DEBIT, {"target": account, "debit": debit, "credit": credit}
                )
                if _rowcount(moved) != 1:
                    raise InsufficientPoints(account, balance(session, account), debit)
            receivers = [a for a in holders if a not in debits]
            if receivers:  # credits only: one statement run for each account (executemany)
                moved = session.execute(
                    _CREDIT, [{"target": a, "points": credited[a]} for a in receivers]
                )
                if _rowcount(moved) != len(receivers):  # pragma: no cover - opened just above
                    raise PointsError(kind, code="unknown-account", reason="an account vanished")
            session.execute(
                _JOURNAL,
                [{"seq": entry.seq, "account": a, "delta": d} for a, d in lines if d != 0],
            )
            if side_row is not None:
                side_row(entry.seq)
    except IntegrityError as exc:
        if conflict is None:
            raise
        raise PointsError(conflict.subject, code=conflict.code, reason=conflict.reason) from exc
    return entry
