"""Point supply and balances, with the books checked (:func:`consortium.points.store.check_books`).

Examples
--------
>>> from consortium.db import create_schema, make_engine, make_session_factory
>>> from consortium.identity.registry import bootstrap_coordinator
>>> from consortium.ledger.signing import Signer
>>> from consortium.points.store import mint
>>> engine = make_engine("sqlite://"); create_schema(engine)
>>> coordinator = Signer.generate()
>>> with make_session_factory(engine).begin() as s:
...     _ = bootstrap_coordinator(s, coordinator=coordinator)
...     _ = mint(s, account="member:alpha", amount=120, reason="contribution",
...              refs={"model": "eta", "round": 1}, signer=coordinator)
...     overview, table = points_overview(s), balances_frame(s)
>>> overview.circulating, overview.books_ok, table["balance"].tolist()
(120, True, [120])
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortium.errors import PointsError
from consortium.ledger.models import EntryRow
from consortium.points.models import JournalRow
from consortium.points.rules import MEMBER_PREFIX, TREASURY, account_kind
from consortium.points.store import balances, check_books, supply


@dataclass(frozen=True)
class PointsOverview:
    """Point totals; ``circulating == minted - burned`` whenever ``books_ok``.

    Attributes
    ----------
    minted, burned, circulating : int
        Created, destroyed and held points.
    member_points, cargo_points, treasury_points : int
        Points held by member accounts (they carry votes), cargo owners and the treasury.
    accounts : int
        Open accounts.
    books_ok : bool
        Whether the balances, the journal and every entry's lines add up.
    books_problem : str or None
        What does not add up, when ``books_ok`` is false.
    """

    minted: int
    burned: int
    circulating: int
    member_points: int
    cargo_points: int
    treasury_points: int
    accounts: int
    books_ok: bool
    books_problem: str | None = None


def balances_frame(session: Session) -> pd.DataFrame:
    """Every open account: columns ``account``, ``kind`` and ``balance`` (int), largest first."""
    rows = [(account, account_kind(account), value) for account, value in balances(session).items()]
    frame = pd.DataFrame(rows, columns=["account", "kind", "balance"]).astype({"balance": "int64"})
    return frame.sort_values(["balance", "account"], ascending=[False, True], ignore_index=True)


def points_overview(session: Session) -> PointsOverview:
    """Return the supply, the points held per kind of account, and the books check."""
    totals = supply(session)
    held = balances(session)
    by_kind = {"member": 0, "cargo": 0, "treasury": 0}
    for account, value in held.items():
        by_kind[account_kind(account)] += value
    try:
        check_books(session)
        ok, problem = True, None
    except PointsError as exc:
        ok, problem = False, str(exc)
    return PointsOverview(
        minted=totals.minted,
        burned=totals.burned,
        circulating=totals.circulating,
        member_points=by_kind["member"],
        cargo_points=by_kind["cargo"],
        treasury_points=held.get(TREASURY, 0),
        accounts=len(held),
        books_ok=ok,
        books_problem=problem,
    )


def points_history_frame(session: Session) -> pd.DataFrame:
    """Each member's points after every ledger entry that moved them, oldest first.

    Columns: ``seq``, ``time`` (of the entry), ``member`` (the id, without ``member:``) and
    ``points`` (its balance just after the entry), from the points journal.
    """
    rows = session.execute(
        select(JournalRow.seq, EntryRow.time, JournalRow.account, JournalRow.delta)
        .join(EntryRow, EntryRow.seq == JournalRow.seq)
        .where(JournalRow.account.startswith(MEMBER_PREFIX, autoescape=True))
        .order_by(JournalRow.seq, JournalRow.id)
    ).all()
    frame = pd.DataFrame(rows, columns=["seq", "time", "account", "delta"])
    if frame.empty:
        return pd.DataFrame({"seq": pd.Series(dtype="int64"), "time": pd.Series(dtype=str),
                             "member": pd.Series(dtype=str),
                             "points": pd.Series(dtype="int64")})  # fmt: skip
    moved = frame.groupby(["seq", "time", "account"], as_index=False, sort=False)["delta"].sum()
    moved["points"] = moved.groupby("account")["delta"].cumsum().astype("int64")
    moved["member"] = moved["account"].str.removeprefix(MEMBER_PREFIX)
    return moved[["seq", "time", "member", "points"]].reset_index(drop=True)
