"""Reads of the points store: balances, the vote snapshot, supply, the books check, history.

Every function takes the caller's session and only reads; sums come from one aggregate query
each (PostgreSQL's ``SUM(bigint)`` is cast back to ``BIGINT`` so every backend returns ``int``).
:mod:`consortium.points.store` re-exports them next to the writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, ColumnElement, cast, func, select
from sqlalchemy.orm import Session

from consortium.errors import PointsError
from consortium.ledger.models import EntryRow
from consortium.points.accounts import BURN_SINK, MEMBER_PREFIX, MINT_SOURCE, account_kind
from consortium.points.models import AccountRow, ContributionRow, JournalRow

_accounts = AccountRow.__table__.c
_journal = JournalRow.__table__.c
_contributions = ContributionRow.__table__.c


@dataclass(frozen=True)
class Supply:
    """Point totals: ``circulating`` (sum of balances) equals ``minted - burned``."""

    minted: int
    burned: int
    circulating: int


@dataclass(frozen=True)
class Movement:
    """One journal line of an account, with the ledger entry and the balance after it."""

    seq: int
    time: str
    kind: str
    delta: int
    balance: int


def _int_sum(column: ColumnElement[int]) -> ColumnElement[int]:
    # PostgreSQL's SUM(bigint) is NUMERIC; cast back so every backend returns int.
    return cast(func.coalesce(func.sum(column), 0), BigInteger)


def balance(session: Session, account: str) -> int:
    """Return the balance of ``account`` (0 if it was never opened).

    Raises
    ------
    PointsError
        ``bad-account`` if ``account`` is not a holder account.
    """
    account_kind(account)
    value = session.execute(
        select(_accounts.balance).where(_accounts.account == account)
    ).scalar_one_or_none()
    return int(value or 0)


def balances(session: Session) -> dict[str, int]:
    """Return every open account's balance (zero balances included), sorted by account."""
    rows = session.execute(select(_accounts.account, _accounts.balance).order_by(_accounts.account))
    return {account: int(value) for account, value in rows}


def _journal_sums(session: Session, *, before_seq: int | None, prefix: str) -> dict[str, int]:
    query = (
        select(_journal.account, _int_sum(_journal.delta))
        .where(_journal.account.not_in((MINT_SOURCE, BURN_SINK)))
        .group_by(_journal.account)
        .order_by(_journal.account)
    )
    if before_seq is not None:
        query = query.where(_journal.seq < before_seq)
    if prefix:
        query = query.where(_journal.account.startswith(prefix, autoescape=True))
    return {account: int(value) for account, value in session.execute(query)}


def balances_at(session: Session, *, seq: int, prefix: str = MEMBER_PREFIX) -> dict[str, int]:
    """Balances as of just before ledger entry ``seq``, of the accounts starting with ``prefix``.

    Summed from the journal lines of entries with ``seq < seq`` in one ``GROUP BY`` query (the
    governance vote snapshot). Accounts without a line before ``seq`` are absent; ``prefix=""``
    gives every holder account.

    Examples
    --------
    >>> # balances_at(session, seq=proposal.snapshot_seq) -> {"member:meridian-line": 1200, ...}
    """
    return _journal_sums(session, before_seq=seq, prefix=prefix)


def supply(session: Session) -> Supply:
    """Return minted and burned totals (from the journal) and the sum of balances."""
    rows = session.execute(
        select(_journal.account, _int_sum(_journal.delta))
        .where(_journal.account.in_((MINT_SOURCE, BURN_SINK)))
        .group_by(_journal.account)
    )
    totals = {account: int(value) for account, value in rows}
    circulating = session.execute(select(_int_sum(_accounts.balance))).scalar_one()
    return Supply(
        minted=-int(totals.get(MINT_SOURCE, 0)),
        burned=int(totals.get(BURN_SINK, 0)),
        circulating=int(circulating),
    )


def check_books(session: Session) -> Supply:
    """Check the books and return the supply.

    Three checks: the balances sum to minted minus burned; every account's journal lines sum to
    its balance; the lines of every ledger entry sum to zero.

    Raises
    ------
    PointsError
        ``books-unbalanced`` naming the first account or entry that does not add up.
    """
    totals = supply(session)
    if totals.circulating != totals.minted - totals.burned:
        raise PointsError(
            "points", code="books-unbalanced",
            reason=f"balances sum to {totals.circulating}, minted - burned is "
                   f"{totals.minted - totals.burned}",
        )  # fmt: skip
    journal = _journal_sums(session, before_seq=None, prefix="")
    stored = balances(session)
    for account in sorted(set(journal) | set(stored)):
        if journal.get(account, 0) != stored.get(account, 0):
            raise PointsError(
                account, code="books-unbalanced",
                reason=f"journal sums to {journal.get(account, 0)}, balance is "
                       f"{stored.get(account, 0)}",
            )  # fmt: skip
    unbalanced = session.execute(
        select(_journal.seq)
        .group_by(_journal.seq)
        .having(func.sum(_journal.delta) != 0)
        .order_by(_journal.seq)
        .limit(1)
    ).scalar_one_or_none()
    if unbalanced is not None:
        raise PointsError(
            f"entry {unbalanced}", code="books-unbalanced",
            reason="its journal lines do not sum to 0",
        )  # fmt: skip
    return totals


def history(session: Session, *, account: str, limit: int | None = None) -> list[Movement]:
    """Return the movements of ``account`` in ledger order (the last ``limit`` if given)."""
    account_kind(account)
    running = func.sum(_journal.delta).over(order_by=(_journal.seq, _journal.id))
    inner = (
        select(
            _journal.seq,
            _journal.id,
            EntryRow.time,
            EntryRow.kind,
            _journal.delta,
            cast(running, BigInteger).label("after"),
        )  # fmt: skip
        .join(EntryRow, EntryRow.seq == _journal.seq)
        .where(_journal.account == account)
        .subquery()
    )
    query = select(inner.c.seq, inner.c.time, inner.c.kind, inner.c.delta, inner.c.after)
    query = query.order_by(inner.c.seq.desc(), inner.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    rows = [Movement(s, t, k, int(d), int(b)) for s, t, k, d, b in session.execute(query)]
    rows.reverse()
    return rows


def contributions(
    session: Session, *, model: str, up_to_round: int | None = None, run_id: str | None = None
) -> dict[str, int]:
    """Contribution points minted for ``model`` (rounds ``<= up_to_round``), per account.

    These are the split weights of the model version produced by ``up_to_round`` of federation
    run ``run_id`` (``None``: every run's, for a version no round produced).
    """
    query = (
        select(_contributions.account, _int_sum(_contributions.amount))
        .where(_contributions.model == model)
        .group_by(_contributions.account)
        .order_by(_contributions.account)
    )
    if up_to_round is not None:
        query = query.where(_contributions.round <= up_to_round)
    if run_id is not None:
        query = query.where(_contributions.run_id == run_id)
    return {account: int(value) for account, value in session.execute(query)}
